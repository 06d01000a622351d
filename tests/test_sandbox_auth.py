"""Sandbox auth: login, refresh, JWT claims and expiry, API keys, the error body shape."""

from __future__ import annotations

import base64

import orjson

ERROR_KEYS = {"success", "error", "errorType", "details", "recommendation"}


def _claims(jwt: str) -> dict:
    payload = jwt.split(".")[1]
    return orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_login_returns_tokens_whose_access_token_is_a_jwt_with_the_user_sub(sandbox):
    """POST /api/auth answers the contract's tokens object; the JWT's sub is the user id."""
    response = sandbox.http().post(
        "/api/auth", json={"username": "demo@example.com", "password": "demo-password"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    tokens = body["tokens"]
    assert set(tokens) == {"accessToken", "idToken", "refreshToken", "expiresIn"}
    assert tokens["expiresIn"] == 3600
    claims = _claims(tokens["accessToken"])
    assert claims["sub"] == sandbox.demo.user_id
    assert claims["email"] == "demo@example.com"
    assert claims["token_use"] == "access"
    assert claims["exp"] - claims["iat"] == 3600
    assert _claims(tokens["idToken"])["sub"] == sandbox.demo.user_id


def test_login_with_a_wrong_password_is_401_with_the_error_body(sandbox):
    """Bad credentials -> 401 and the API's five-key error body."""
    response = sandbox.http().post(
        "/api/auth", json={"username": "demo@example.com", "password": "nope"}
    )
    assert response.status_code == 401
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["success"] is False
    assert body["errorType"] == "no_valid_credentials"


def test_login_without_username_is_400(sandbox):
    """A login body without username/password is a 400 missing_required_field."""
    response = sandbox.http().post("/api/auth", json={"password": "demo-password"})
    assert response.status_code == 400
    assert response.json()["errorType"] == "missing_required_field"


def test_requests_without_credentials_are_401_no_valid_credentials(sandbox):
    """No Authorization and no x-api-key -> 401 no_valid_credentials."""
    response = sandbox.http().get("/api/clients")
    assert response.status_code == 401
    assert response.json()["errorType"] == "no_valid_credentials"


def test_a_garbage_bearer_token_is_401_no_valid_tokens(sandbox):
    """A token that is not a JWT signed by the sandbox -> 401 no_valid_tokens."""
    http = sandbox.http()
    for token in ("garbage", "a.b.c", "Bearer"):
        response = http.get("/api/clients", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, token
        assert response.json()["errorType"] == "no_valid_tokens"


def test_a_token_with_a_forged_signature_is_refused(sandbox):
    """Changing the payload of a valid JWT breaks its signature."""
    token = sandbox.login(sandbox.demo)["accessToken"]
    head, _, sig = token.split(".")
    forged_payload = base64.urlsafe_b64encode(
        orjson.dumps({"sub": sandbox.other.user_id, "exp": 4_000_000_000})
    ).rstrip(b"=")
    forged = f"{head}.{forged_payload.decode()}.{sig}"
    response = sandbox.http().get("/api/clients", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
    assert response.json()["errorType"] == "no_valid_tokens"


def test_api_key_with_user_id_authenticates(sandbox):
    """x-api-key + x-user-id of the same user is accepted on /api routes."""
    response = sandbox.http(sandbox.demo, api_key=True).get("/api/clients")
    assert response.status_code == 200, response.text


def test_api_key_without_user_id_is_401(sandbox):
    """A key without x-user-id is a 401 (the contract)."""
    response = sandbox.http().get("/api/clients", headers={"x-api-key": sandbox.demo.api_key})
    assert response.status_code == 401
    assert response.json()["errorType"] == "no_valid_credentials"


def test_api_key_of_another_user_is_401(sandbox):
    """The demo key with the other user's id does not authenticate."""
    headers = {"x-api-key": sandbox.demo.api_key, "x-user-id": sandbox.other.user_id}
    response = sandbox.http().get("/api/clients", headers=headers)
    assert response.status_code == 401


def test_refresh_returns_a_new_access_token_and_keeps_the_refresh_token(sandbox):
    """POST /api/auth/refresh answers the same shape; the new token works."""
    tokens = sandbox.login(sandbox.demo)
    http = sandbox.http()
    response = http.post("/api/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
    assert response.status_code == 200, response.text
    fresh = response.json()["tokens"]
    assert fresh["refreshToken"] == tokens["refreshToken"]
    ok = http.get("/api/clients", headers={"Authorization": f"Bearer {fresh['accessToken']}"})
    assert ok.status_code == 200


def test_refresh_with_an_unknown_or_revoked_token_is_401(sandbox):
    """Unknown refresh tokens, and all tokens after the admin revoke, are refused."""
    tokens = sandbox.login(sandbox.demo)
    http = sandbox.http()
    unknown = http.post("/api/auth/refresh", json={"refreshToken": "nope"})
    assert unknown.status_code == 401
    assert sandbox.admin.revoke_refresh_tokens() >= 1
    revoked = http.post("/api/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
    assert revoked.status_code == 401
    assert revoked.json()["errorType"] == "no_valid_tokens"


def test_access_token_expires_after_token_ttl(fake_clock, make_inprocess_sandbox):
    """A token is accepted until its exp, then 401 token_expired (clock-driven, no sleep)."""
    client = make_inprocess_sandbox(fake_clock, token_ttl=120)
    login = client.post(
        "/api/auth", json={"username": "demo@example.com", "password": "demo-password"}
    )
    tokens = login.json()["tokens"]
    assert tokens["expiresIn"] == 120
    headers = {"Authorization": f"Bearer {tokens['accessToken']}"}
    fake_clock.advance(119)
    assert client.get("/api/clients", headers=headers).status_code == 200
    fake_clock.advance(1)
    expired = client.get("/api/clients", headers=headers)
    assert expired.status_code == 401
    assert expired.json()["errorType"] == "token_expired"
    refreshed = client.post("/api/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
    new_headers = {"Authorization": f"Bearer {refreshed.json()['tokens']['accessToken']}"}
    assert client.get("/api/clients", headers=new_headers).status_code == 200


def test_token_ttl_changed_at_runtime_applies_to_new_tokens(fake_clock, make_inprocess_sandbox):
    """The admin config route changes the lifetime of tokens issued afterwards."""
    client = make_inprocess_sandbox(fake_clock)
    assert client.post("/_sandbox/config", json={"token_ttl": 5}).json()["token_ttl"] == 5.0
    login = client.post(
        "/api/auth", json={"username": "other@example.com", "password": "other-password"}
    )
    headers = {"Authorization": f"Bearer {login.json()['tokens']['accessToken']}"}
    fake_clock.advance(5)
    assert client.get("/api/clients", headers=headers).json()["errorType"] == "token_expired"
