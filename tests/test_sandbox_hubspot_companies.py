"""POST crm/v3/objects/companies/batch/read: at most 100 inputs, 207 for missing ids."""

from __future__ import annotations

from tests.fixtures.hubspot import HubSpotServer

READ = "/crm/v3/objects/companies/batch/read"
PROPS = ["name", "domain", "industry", "city", "country", "phone", "hs_lastmodifieddate"]


def _live_ids(server: HubSpotServer, n: int) -> list[str]:
    return [str(c.id) for c in server.state.companies.values() if not c.archived][:n]


def test_batch_read_returns_requested_companies(hubspot_portal: HubSpotServer) -> None:
    """All ids found: 200 COMPLETE with each company once and the requested properties."""
    ids = _live_ids(hubspot_portal, 100)
    with hubspot_portal.client() as http:
        response = http.post(
            READ, json={"properties": PROPS, "inputs": [{"id": i} for i in reversed(ids)]}
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "COMPLETE" and "errors" not in body
    assert sorted(r["id"] for r in body["results"]) == sorted(ids)
    assert all(sorted(r["properties"]) == sorted(PROPS) for r in body["results"])


def test_batch_read_with_missing_ids_is_a_207_naming_them(hubspot_portal: HubSpotServer) -> None:
    """Unknown and archived company ids come back in one OBJECT_NOT_FOUND error (207)."""
    archived = next(str(c.id) for c in hubspot_portal.state.companies.values() if c.archived)
    ids = _live_ids(hubspot_portal, 2)
    with hubspot_portal.client() as http:
        response = http.post(READ, json={"inputs": [{"id": i} for i in [*ids, "12345", archived]]})
    assert response.status_code == 207
    body = response.json()
    assert sorted(r["id"] for r in body["results"]) == sorted(ids)
    assert body["numErrors"] == 1
    error = body["errors"][0]
    assert error["category"] == "OBJECT_NOT_FOUND"
    assert sorted(error["context"]["ids"]) == sorted(["12345", archived])


def test_batch_read_refuses_more_than_100_inputs(hubspot_portal: HubSpotServer) -> None:
    """101 inputs is a 400 VALIDATION_ERROR."""
    ids = [str(c) for c in hubspot_portal.state.companies][:101]
    with hubspot_portal.client() as http:
        response = http.post(READ, json={"inputs": [{"id": i} for i in ids]})
    assert response.status_code == 400
    assert response.json()["category"] == "VALIDATION_ERROR"


def test_company_without_domain_has_a_null_domain(hubspot_portal: HubSpotServer) -> None:
    """Companies lacking a domain return "domain": null, not a missing key."""
    no_domain = next(
        str(c.id)
        for c in hubspot_portal.state.companies.values()
        if not c.archived and c.properties["domain"] is None
    )
    with hubspot_portal.client() as http:
        body = http.post(READ, json={"properties": PROPS, "inputs": [{"id": no_domain}]}).json()
    assert body["results"][0]["properties"]["domain"] is None


def test_batch_read_rejects_a_body_that_is_not_json(hubspot_portal: HubSpotServer) -> None:
    """A malformed body is a 400 in HubSpot's error shape."""
    with hubspot_portal.client() as http:
        response = http.post(READ, content=b"{not json")
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "error" and body["correlationId"]
