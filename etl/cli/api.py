"""``lgetl api METHOD PATH [--data JSON]``: a raw, authenticated API call (like ``api_call.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from etl.cli.options import (
    ApiKey,
    AuthFile,
    BaseUrl,
    Connection,
    Insecure,
    LogFormat,
    LogFormatChoice,
    Rate,
    UserId,
    Verbose,
    password_prompt,
    run,
    setup,
)
from etl.errors import ConfigError

_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")


def _load_data(data: str | None) -> Any:
    import orjson

    if data is None:
        return None
    text = data
    if data.startswith("@"):
        try:
            text = Path(data[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"--data {data}: cannot read the file ({exc.strerror})") from None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ConfigError(
            f"--data is not valid JSON ({exc}); quote it, or use @file.json"
        ) from None


def _params(pairs: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--param {pair!r} must look like key=value")
        params[key] = value
    return params


def api(
    *,
    method: Annotated[str, typer.Argument(help="HTTP method: GET, POST, PUT, DELETE, PATCH.")],
    path: Annotated[str, typer.Argument(help="Path under the base URL, e.g. /api/clients.")],
    data: Annotated[
        str | None,
        typer.Option("--data", "-d", help="JSON body, or @FILE to read it from a file."),
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="Query parameter key=value (repeatable)."),
    ] = None,
    base_url: BaseUrl = None,
    insecure: Insecure = False,
    api_key: ApiKey = None,
    user_id: UserId = None,
    auth_file: AuthFile = None,
    rate: Rate = None,
    log_format: LogFormat = LogFormatChoice.plain,
    verbose: Verbose = False,
) -> None:
    """Send one authenticated request and print the JSON response.

    GET/PUT/DELETE are retried on transient failures; a POST that may have reached the
    server is not (the error says so). Errors exit non-zero with the server's message.

    Example: lgetl api GET /api/leads -p client_id=acme-corp -p limit=5
    """
    setup(log_format, verbose=verbose)
    verb = method.upper()
    if verb not in _METHODS:
        raise ConfigError(f"unknown method {method!r}: use one of {', '.join(_METHODS)}")
    if not path.startswith("/"):
        path = "/" + path
    if not path.startswith("/api/"):
        raise ConfigError(f"path {path!r} must start with /api/ (e.g. /api/clients)")
    body = _load_data(data)
    query = _params(param or [])
    from etl.client import LeadGeniusClient

    settings = Connection(base_url, insecure, api_key, user_id, auth_file, rate).settings()

    async def go() -> Any:
        async with LeadGeniusClient(settings, password_prompt=password_prompt()) as client:
            return await client.request(verb, path, params=query or None, json=body)

    result = run(go())
    import orjson

    typer.echo(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())


def register(app: typer.Typer) -> None:
    """Attach ``lgetl api``."""
    app.command("api")(api)
