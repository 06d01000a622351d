"""HubSpot CRM v3/v4 emulation for the sandbox, mounted by the lead under ``/hubspot``.

Usage::

    from starlette.routing import Mount
    from etl.sandbox.hubspot import HubSpotConfig, create_hubspot_app

    hubspot = create_hubspot_app(HubSpotConfig(contacts=5000, seed=1))
    routes.append(Mount("/hubspot", app=hubspot))
    print(hubspot.state.hubspot.config.token)   # the pat-... token to give the importer
"""

from __future__ import annotations

from etl.sandbox.hubspot.app import create_hubspot_app
from etl.sandbox.hubspot.config import HubSpotConfig, token_for_seed
from etl.sandbox.hubspot.seed import GENERIC_MAIL_DOMAINS
from etl.sandbox.hubspot.state import HubSpotState

__all__ = [
    "GENERIC_MAIL_DOMAINS",
    "HubSpotConfig",
    "HubSpotState",
    "create_hubspot_app",
    "token_for_seed",
]
