"""Bearer JWTs: every refused kind of token is a 401 problem; a missing role is a 403."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from oneplan_kit import issue_dev_token
from oneplan_kit.auth import load_or_create_dev_key

pytestmark = pytest.mark.usefixtures("sqlite_service")


def _claims(service: Any, **changes: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": "tester",
        "agency": "health",
        "roles": ["caseworker"],
        "children": [],
        "iss": service.settings.jwt_issuer,
        "aud": service.settings.jwt_audience,
        "iat": now,
        "exp": now + timedelta(minutes=5),
    }
    claims.update(changes)
    return claims


def _sign(service: Any, claims: dict[str, Any], key: Any = None) -> str:
    key = key or load_or_create_dev_key(service.settings.signing_key_path)
    return jwt.encode(claims, key, algorithm="RS256")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _part(value: dict[str, Any]) -> str:
    return _b64(json.dumps(value, default=_epoch).encode())


def _epoch(value: Any) -> int:
    assert isinstance(value, datetime)
    return int(value.timestamp())


def _unsigned(claims: dict[str, Any]) -> str:
    return f"{_part({'alg': 'none', 'typ': 'JWT'})}.{_part(claims)}."


def _hs256(claims: dict[str, Any], secret: bytes) -> str:
    # Built by hand: PyJWT (rightly) refuses to HMAC-sign with a public key, an attacker won't.
    signing_input = f"{_part({'alg': 'HS256', 'typ': 'JWT'})}.{_part(claims)}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _refused_tokens(service: Any) -> dict[str, str]:
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    past = datetime.now(UTC) - timedelta(hours=1)
    public_pem = (
        load_or_create_dev_key(service.settings.signing_key_path)
        .public_key()
        .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    return {
        "expired": _sign(service, _claims(service, iat=past - timedelta(hours=1), exp=past)),
        "wrongly signed": _sign(service, _claims(service), key=other_key),
        "wrong audience": _sign(service, _claims(service, aud="someone-else")),
        "wrong issuer": _sign(service, _claims(service, iss="https://evil.example")),
        "alg none": _unsigned(_claims(service)),
        "HS256 with the public key": _hs256(_claims(service), public_pem),
        "malformed": "not-a-jwt",
        "no agency": _sign(service, {k: v for k, v in _claims(service).items() if k != "agency"}),
    }


async def test_a_request_without_a_token_is_401_with_a_challenge(sqlite_service: Any) -> None:
    response = await sqlite_service.client.get("/whoami")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["type"] == "urn:oneplan:problem:unauthenticated"


async def test_every_refused_token_is_401(sqlite_service: Any) -> None:
    for kind, token in _refused_tokens(sqlite_service).items():
        response = await sqlite_service.client.get(
            "/whoami", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401, kind
        assert response.headers["content-type"] == "application/problem+json", kind
        assert 'error="invalid_token"' in response.headers["www-authenticate"], kind


async def test_a_good_token_names_the_principal(sqlite_service: Any) -> None:
    child = uuid4()
    token = issue_dev_token(
        sqlite_service.settings, "family", ["parent"], children=[child], sub="parent-1"
    )
    response = await sqlite_service.client.get(
        "/whoami", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    assert response.json() == {
        "sub": "parent-1",
        "agency": "family",
        "roles": ["parent"],
        "children": [str(child)],
    }


async def test_a_token_without_the_role_is_403(sqlite_service: Any) -> None:
    response = await sqlite_service.client.post(
        "/widgets",
        json={"name": "w", "size": 1},
        headers=sqlite_service.auth(roles=["viewer"]),
    )
    assert response.status_code == 403
    body = response.json()
    assert body["type"] == "urn:oneplan:problem:forbidden"
    assert body["required"] == "a practitioner role"


def test_dev_tokens_are_not_issued_outside_development(sqlite_service: Any) -> None:
    production = sqlite_service.settings.model_copy(update={"env": "production"})
    with pytest.raises(ValueError, match="only issued"):
        issue_dev_token(production, "send", ["caseworker"])


def test_the_dev_key_is_created_once_and_reused(tmp_path: Any) -> None:
    path = tmp_path / "nested" / "key.pem"
    first = load_or_create_dev_key(path)
    second = load_or_create_dev_key(path)
    assert first.private_numbers() == second.private_numbers()
    assert path.stat().st_mode & 0o077 == 0
