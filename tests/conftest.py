"""Shared fixtures live in ``tests/fixtures/``: one plugin module per concern."""

pytest_plugins = [
    "tests.fixtures.hubspot",
    "tests.fixtures.hubspot_source",
    "tests.fixtures.clock",
    "tests.fixtures.store",
    "tests.fixtures.sandbox",
    "tests.fixtures.hubspot_import",
]
