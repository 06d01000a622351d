"""``lgetl auth login|status|logout``: the credentials file and who you are."""

from __future__ import annotations

import datetime as dt
import os
from typing import Annotated, Any

import typer

from etl.cli.options import (
    AuthFile,
    BaseUrl,
    Connection,
    Insecure,
    JsonOutput,
    LogFormat,
    LogFormatChoice,
    Verbose,
    interactive,
    run,
    setup,
)
from etl.errors import ConfigError

auth_app = typer.Typer(
    help="Log in, show who you are, log out.", no_args_is_help=True, add_completion=False
)


def _when(epoch: float | None, now: float) -> str:
    if epoch is None:
        return "unknown (no expiry in the token)"
    stamp = dt.datetime.fromtimestamp(epoch, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    left = epoch - now
    if left <= 0:
        return f"{stamp} (expired)"
    return f"{stamp} (in {int(left // 60)} min {int(left % 60)} s)"


def _ask(value: str | None, env_name: str, text: str, *, hide: bool) -> str:
    value = value or os.environ.get(env_name)
    if value:
        return value
    if not interactive():
        flag = "--password" if hide else "--email"
        raise ConfigError(f"no {text.lower()}: pass {flag} or set {env_name}")
    return str(typer.prompt(text, hide_input=hide, err=True))


@auth_app.command("login")
def login(
    *,
    email: Annotated[
        str | None,
        typer.Option("--email", help="Login email. Env: LEADGENIUS_EMAIL.", show_default=False),
    ] = None,
    password: Annotated[
        str | None,
        typer.Option(
            "--password",
            help="Password. Env: LEADGENIUS_PASSWORD. Prompted (hidden) on a terminal if absent.",
            show_default=False,
        ),
    ] = None,
    base_url: BaseUrl = None,
    insecure: Insecure = False,
    auth_file: AuthFile = None,
    log_format: LogFormat = LogFormatChoice.plain,
    verbose: Verbose = False,
) -> None:
    """Log in with email and password; save the session (mode 0600) for later commands.

    Example: lgetl auth login --email me@acme.com
    """
    setup(log_format, verbose=verbose)
    user = _ask(email, "LEADGENIUS_EMAIL", "Email", hide=False)
    secret = _ask(password, "LEADGENIUS_PASSWORD", "Password", hide=True)

    from etl.client import ClientSettings, LeadGeniusClient, PasswordAuth
    from etl.client.credentials import auth_file_path, update_credentials
    from etl.client.settings import resolve_base_url
    from etl.clock import SystemClock
    from etl.logs import register_secret

    register_secret(secret)
    env = dict(os.environ)
    settings = ClientSettings(
        base_url=resolve_base_url(base_url, env),
        auth=PasswordAuth(user, secret),
        insecure=insecure,
        source="--email",
    )

    async def go() -> Any:
        async with LeadGeniusClient(settings) as client:
            return await client.login()

    session = run(go())
    path = auth_file_path(env, auth_file)
    update_credentials(
        path, {**session.file_fields(), "email": user, "base_url": settings.base_url}
    )
    expiry = _when(session.expires_at, SystemClock().time())
    typer.echo(f"logged in as {user} at {settings.base_url}; token expires {expiry}")
    typer.echo(f"session saved to {path}")


@auth_app.command("status")
def status(
    *,
    base_url: BaseUrl = None,
    insecure: Insecure = False,
    auth_file: AuthFile = None,
    json_output: JsonOutput = False,
    log_format: LogFormat = LogFormatChoice.plain,
    verbose: Verbose = False,
) -> None:
    """Check the credentials in use and show who, which company and the token expiry.

    The token itself is never shown. Exits 2 when there are no working credentials.

    Example: lgetl auth status
    """
    setup(log_format, verbose=verbose)
    from etl.client import LeadGeniusClient
    from etl.clock import SystemClock

    settings = Connection(base_url=base_url, insecure=insecure, auth_file=auth_file).settings()

    async def go() -> dict[str, Any]:
        async with LeadGeniusClient(settings) as client:
            return await client.whoami()

    info = run(go())
    if json_output:
        import orjson

        typer.echo(orjson.dumps(info, option=orjson.OPT_INDENT_2).decode())
        return
    who = info.get("email") or "(email unknown)"
    typer.echo(f"user:     {who} (id {info.get('sub') or 'unknown'})")
    typer.echo(f"company:  {info.get('company_id') or 'unknown (the account has no clients yet)'}")
    typer.echo(f"api:      {info['base_url']}")
    typer.echo(f"auth:     {info['auth']} from {info['source']}")
    if info["auth"] == "bearer":
        typer.echo(f"expires:  {_when(info.get('expires_at'), SystemClock().time())}")
    typer.echo(f"clients:  {info['clients']}")


@auth_app.command("logout")
def logout(auth_file: AuthFile = None) -> None:
    """Forget the saved session (the API key in the file, if any, is kept).

    Example: lgetl auth logout
    """
    from etl.client.credentials import auth_file_path, remove_tokens

    path = auth_file_path(os.environ, auth_file)
    if remove_tokens(path):
        typer.echo(f"logged out: session removed from {path}")
    else:
        typer.echo(f"no saved session in {path}")
    still = [
        n for n in ("LEADGENIUS_API_KEY", "LGP_API_KEY", "LEADGENIUS_TOKEN") if os.environ.get(n)
    ]
    if still:
        typer.echo(f"note: {', '.join(still)} is still set in the environment and will be used")


def register(app: typer.Typer) -> None:
    """Attach ``lgetl auth``."""
    app.add_typer(auth_app, name="auth")
