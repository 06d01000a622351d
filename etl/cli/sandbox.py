"""``lgetl sandbox``: run the local LeadGenius API emulation in the foreground."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from etl.sandbox import Sandbox


def sandbox(
    *,
    host: str = typer.Option("127.0.0.1", help="Interface to bind."),
    port: int = typer.Option(8765, help="TCP port; 0 picks a free one."),
    rate_limit: int = typer.Option(100, help="Requests per minute per identity; 0 = unlimited."),
    latency_ms: float = typer.Option(0.0, help="Mean added latency per request (+/-50% jitter)."),
    seed: int = typer.Option(0, help="Seed for faults, jitter and synthetic data."),
    fault_rate: float = typer.Option(
        0.0, help="Fraction of /api requests failing (500/502/503/504/dropped connection)."
    ),
    index_lag_ms: float = typer.Option(
        0.0, help="How long new or changed leads stay invisible to list/find routes."
    ),
    token_ttl: float = typer.Option(3600.0, help="Access token lifetime in seconds."),
    synthetic_leads: int = typer.Option(
        0, help="Synthetic enrich-lead records held by the demo company (export path)."
    ),
    batch_persist: str = typer.Option(
        "never", help="never (the real server's bug 2) or always: does batch POST store leads?"
    ),
    hubspot_contacts: int = typer.Option(
        0, help="HubSpot contacts to seed under /hubspot (about N/6 companies)."
    ),
    hubspot_rate_limit: int = typer.Option(
        100, help="HubSpot requests per rolling 10 s (190 = Pro/Enterprise; 0 = off)."
    ),
    hubspot_search_rate: int = typer.Option(5, help="HubSpot search requests per second."),
    hubspot_search_lag_ms: float = typer.Option(
        0.0, help="How long a HubSpot change takes to show in search."
    ),
) -> None:
    """Run the LeadGenius sandbox server until Ctrl-C.

    Prints the base URL, both seeded accounts (with their secrets) and the config.

    Change any knob at runtime with POST /_sandbox/config (see docs/sandbox.md).

    Example: lgetl sandbox --port 0 --rate-limit 0 --fault-rate 0.05 --seed 7 --hubspot-contacts 500
    """
    import signal

    from starlette.routing import Mount

    from etl.sandbox import SandboxConfig, serve_forever
    from etl.sandbox.hubspot import HubSpotConfig, create_hubspot_app

    config = SandboxConfig(
        host=host,
        port=port,
        rate_limit=rate_limit,
        latency_ms=latency_ms,
        seed=seed,
        fault_rate=fault_rate,
        index_lag_ms=index_lag_ms,
        token_ttl=token_ttl,
        synthetic_leads=synthetic_leads,
        batch_persist=batch_persist,
    )
    hubspot = create_hubspot_app(
        HubSpotConfig(
            contacts=hubspot_contacts,
            seed=seed,
            rate_limit_per_10s=hubspot_rate_limit,
            search_rate_per_s=hubspot_search_rate,
            search_lag_ms=hubspot_search_lag_ms,
        )
    )
    # uvicorn stops on SIGINT/SIGTERM and then re-raises the signal; these no-op handlers
    # make that re-raise end the command with exit 0 instead of a traceback.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _ignore)
    hubspot_token = hubspot.state.hubspot.config.token

    def on_ready(base_url: str, sandbox: Sandbox) -> None:
        _banner(base_url, sandbox)
        typer.echo(
            f"HubSpot: {base_url}/hubspot token={hubspot_token} "
            f"contacts={hubspot_contacts} (admin: {base_url}/hubspot/_sandbox/contacts)"
        )

    serve_forever(config, on_ready=on_ready, extra_routes=[Mount("/hubspot", app=hubspot)])
    typer.echo("sandbox stopped")


def _ignore(signum: int, frame: Any) -> None:
    """Swallow the signal uvicorn re-raises after its graceful shutdown."""


def _banner(base_url: str, sandbox: Sandbox) -> None:
    config = sandbox.config
    lines = [f"LeadGenius sandbox listening on {base_url}", "accounts:"]
    for name, account in sandbox.accounts.items():
        lines.append(
            f"  {name:<5} email={account.email} password={account.password} "
            f"user_id={account.user_id} company_id={account.company_id} "
            f"api_key={account.api_key}"
        )
    knobs = " ".join(f"{k}={v}" for k, v in config.to_dict().items() if k not in ("host", "port"))
    lines += [f"config: {knobs}", f"admin: {base_url}/_sandbox/config", "Press Ctrl-C to stop."]
    typer.echo("\n".join(lines))


def register(app: typer.Typer) -> None:
    """Attach ``lgetl sandbox`` to the root app."""
    app.command("sandbox")(sandbox)
