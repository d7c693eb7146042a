"""Production validation: RS256 tokens checked against the identity provider's JWKS."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from oneplan_kit import ServiceSettings, TokenVerifier
from oneplan_kit.errors import ServiceUnavailable, Unauthorized

ISSUER = "https://idp.example.test"
AUDIENCE = "oneplan-api"


class _Provider:
    """A signing key and the JWKS document an OIDC provider would publish for it."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        self.jwks = {"keys": [{**jwk, "kid": "idp-1", "use": "sig", "alg": "RS256"}]}

    def token(self, kid: str = "idp-1", **changes: Any) -> str:
        now = datetime.now(UTC)
        claims: dict[str, Any] = {
            "sub": "worker-7",
            "agency": "transport",
            "roles": ["caseworker"],
            "iss": ISSUER,
            "aud": AUDIENCE,
            "exp": now + timedelta(minutes=5),
        }
        claims.update(changes)
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": kid})


@pytest.fixture(scope="module")
def provider() -> _Provider:
    return _Provider()


@pytest.fixture(scope="module")
def jwks_url(provider: _Provider) -> Iterator[str]:
    body = json.dumps(provider.jwks).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the test output is not the place for access logs."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/jwks.json"
    server.shutdown()
    server.server_close()


def _settings(jwks_url: str) -> ServiceSettings:
    return ServiceSettings(
        env="production", jwks_url=jwks_url, jwt_issuer=ISSUER, jwt_audience=AUDIENCE
    )


async def test_a_provider_token_is_accepted(provider: _Provider, jwks_url: str) -> None:
    principal = await TokenVerifier(_settings(jwks_url)).verify(provider.token())
    assert principal.sub == "worker-7"
    assert principal.agency == "transport"
    assert principal.has_role("caseworker")


async def test_an_unknown_key_id_is_refused(provider: _Provider, jwks_url: str) -> None:
    with pytest.raises(Unauthorized, match="signing key"):
        await TokenVerifier(_settings(jwks_url)).verify(provider.token(kid="someone-else"))


async def test_a_wrong_audience_is_refused(provider: _Provider, jwks_url: str) -> None:
    with pytest.raises(Unauthorized):
        await TokenVerifier(_settings(jwks_url)).verify(provider.token(aud="other-api"))


async def test_an_unreachable_provider_is_503(provider: _Provider) -> None:
    verifier = TokenVerifier(_settings("http://127.0.0.1:1/jwks.json"))
    with pytest.raises(ServiceUnavailable):
        await verifier.verify(provider.token())
