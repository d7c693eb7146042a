"""Token claims are bounded at the edge: every identity accepted fits wherever it is recorded."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import jwt
import pytest

from oneplan_kit import Principal, ServiceSettings, TokenVerifier, Unauthorized
from oneplan_kit.auth import MAX_CHILDREN, MAX_ROLES, MAX_SUB_LENGTH, load_or_create_dev_key
from oneplan_kit.errors import ECHO_LIMIT, cap_echo
from oneplan_kit.idempotency import principal_key


@pytest.fixture
def settings(tmp_path: Path) -> ServiceSettings:
    return ServiceSettings(env="development", var_dir=tmp_path)


@pytest.fixture
def verifier(settings: ServiceSettings) -> TokenVerifier:
    return TokenVerifier(settings, cache_size=0)


def sign(settings: ServiceSettings, **changes: Any) -> str:
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": "practitioner-1",
        "agency": "health",
        "roles": ["caseworker"],
        "children": [],
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "exp": now + timedelta(minutes=5),
        **changes,
    }
    claims = {name: value for name, value in claims.items() if value is not ...}
    return jwt.encode(claims, load_or_create_dev_key(settings.signing_key_path), "RS256")


async def refused_claim(verifier: TokenVerifier, token: str) -> Unauthorized:
    with pytest.raises(Unauthorized) as caught:
        await verifier.verify(token)
    problem = caught.value
    assert problem.status == 401
    assert problem.to_dict()["claim"] == problem.claim
    return problem


REFUSED: dict[str, tuple[str, Any]] = {
    "sub missing": ("sub", ...),
    "sub not a string": ("sub", 42),
    "sub empty": ("sub", ""),
    "sub blank": ("sub", "   "),
    "sub too long": ("sub", "u" * (MAX_SUB_LENGTH + 1)),
    "sub with NUL": ("sub", "user\x001"),
    "sub with a tab": ("sub", "user\t1"),
    "sub with a newline": ("sub", "user\n1"),
    "sub with a lone surrogate": ("sub", "user\ud8001"),
    "sub with a bidi override": ("sub", "user\u202e1"),
    "agency missing": ("agency", ...),
    "agency not an identifier": ("agency", "Health Team"),
    "agency too long": ("agency", "a" * 64),
    # Python's "$" matches before a final newline: the pattern must hold to the very end.
    "agency with a final newline": ("agency", "health\n"),
    "roles not a list": ("roles", "caseworker"),
    "too many roles": ("roles", [f"role_{n}" for n in range(MAX_ROLES + 1)]),
    "role not a string": ("roles", ["caseworker", 7]),
    "role with capitals": ("roles", ["Case-Worker"]),
    "role too long": ("roles", ["r" * 64]),
    "role with NUL": ("roles", ["case\x00worker"]),
    "role with a final newline": ("roles", ["caseworker\n"]),
    "children not a list": ("children", str(uuid4())),
    "too many children": ("children", [str(uuid4()) for _ in range(MAX_CHILDREN + 1)]),
    "child not a UUID": ("children", ["not-a-uuid"]),
    "child not a string": ("children", [12345]),
    "child id huge": ("children", ["0" * 100_000]),
    "wrong audience": ("aud", "someone-else"),
    "wrong issuer": ("iss", "https://evil.example"),
    "expired": ("exp", datetime.now(UTC) - timedelta(hours=1)),
}


@pytest.mark.parametrize(("claim", "value"), REFUSED.values(), ids=REFUSED.keys())
async def test_a_refused_claim_is_a_401_naming_it(
    settings: ServiceSettings, verifier: TokenVerifier, claim: str, value: Any
) -> None:
    problem = await refused_claim(verifier, sign(settings, **{claim: value}))
    assert problem.claim == claim
    assert len(problem.detail or "") < ECHO_LIMIT
    assert problem.headers["WWW-Authenticate"].isascii()


async def test_the_bounds_themselves_are_accepted(
    settings: ServiceSettings, verifier: TokenVerifier
) -> None:
    sub = "é" * MAX_SUB_LENGTH
    roles = [f"role_{n}" for n in range(MAX_ROLES - 1)] + ["r" * 63]
    children = [uuid4() for _ in range(MAX_CHILDREN)]
    token = sign(
        settings, sub=sub, agency="a" * 63, roles=roles, children=[str(c) for c in children]
    )
    principal = await verifier.verify(token)
    assert principal == Principal(sub, "a" * 63, frozenset(roles), frozenset(children))


async def test_an_ordinary_identity_provider_sub_is_accepted(
    settings: ServiceSettings, verifier: TokenVerifier
) -> None:
    for sub in ("auth0|5f7c8ec7c33c6c004bbafe82", "CN=Jane Smith,OU=SEND", "jane@example.org"):
        assert (await verifier.verify(sign(settings, sub=sub))).sub == sub


def test_the_challenge_header_is_always_a_valid_header() -> None:
    problem = Unauthorized('bad "token" \u00e9\x00\n' + "x" * 10_000, claim="sub")
    challenge = problem.headers["WWW-Authenticate"]
    assert challenge.isascii()
    assert "\n" not in challenge
    assert '"token"' not in challenge
    assert len(challenge) < 300


def test_the_idempotency_principal_always_fits_its_column() -> None:
    longest = Principal(sub="\U0001f600" * MAX_SUB_LENGTH, agency="a" * 63)
    key = principal_key(longest)
    assert len(key) == 64
    assert key == hashlib.sha256(f"{'a' * 63}:{longest.sub}".encode()).hexdigest()
    assert ":" not in key  # never equal to a row stored before, which held "agency:sub"
    assert principal_key(Principal("a", "send")) != principal_key(Principal("a", "health"))


def test_cap_echo_bounds_strings_lists_and_keys() -> None:
    document = {
        "short": "fine",
        "exact": "x" * ECHO_LIMIT,
        "long": "y" * (ECHO_LIMIT + 1),
        "nested": [{"k" * 1000: ["z"] * 150}],
        "number": 3,
        "flag": None,
    }
    capped = cap_echo(document)
    assert capped["short"] == "fine"
    assert capped["exact"] == "x" * ECHO_LIMIT
    assert capped["long"] == "y" * 100 + f"… ({ECHO_LIMIT + 1} characters)"
    ((key, items),) = ((k, v) for k, v in capped["nested"][0].items() if not k.endswith("_omitted"))
    assert key == "k" * 100 + "… (1000 characters)"
    assert len(items) == 100
    assert capped["nested"][0][f"{key}_omitted"] == 50
    assert (capped["number"], capped["flag"]) == (3, None)
