"""Verified tokens are remembered briefly; nothing the verifier would refuse is ever served."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest

from oneplan_kit import ServiceSettings, TokenVerifier, Unauthorized, issue_dev_token
from oneplan_kit import auth as auth_module


class _Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def settings(tmp_path: Path) -> ServiceSettings:
    return ServiceSettings(env="development", var_dir=tmp_path)


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every token the verifier checks cryptographically (a cache hit adds nothing)."""
    seen: list[str] = []
    real = jwt.decode

    def counting(token: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(token)
        return real(token, *args, **kwargs)

    monkeypatch.setattr(auth_module.jwt, "decode", counting)
    return seen


async def test_a_verified_token_is_not_verified_again(
    settings: ServiceSettings, decodes: list[str]
) -> None:
    verifier = TokenVerifier(settings)
    token = issue_dev_token(settings, "health", ["caseworker"], sub="cached-user")
    first = await verifier.verify(token)
    second = await verifier.verify(token)
    assert first == second
    assert first.sub == "cached-user"
    assert decodes == [token]


async def test_a_refused_token_is_checked_every_time(
    settings: ServiceSettings, decodes: list[str]
) -> None:
    verifier = TokenVerifier(settings)
    other = settings.model_copy(update={"jwt_audience": "someone-else"})
    token = issue_dev_token(other, "health", ["caseworker"])
    for _ in range(2):
        with pytest.raises(Unauthorized):
            await verifier.verify(token)
    assert decodes == [token, token]


async def test_a_cached_token_is_refused_once_it_expires(
    settings: ServiceSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Why no leeway: the real clock must pass exp within the test, not 30 s later.
    monkeypatch.setattr(auth_module, "_LEEWAY", timedelta(0))
    verifier = TokenVerifier(settings)
    token = issue_dev_token(settings, "health", ["caseworker"], ttl=timedelta(seconds=2))
    await verifier.verify(token)
    exp = jwt.decode(token, options={"verify_signature": False})["exp"]
    await asyncio.sleep(max(0.0, exp - time.time()) + 0.2)
    with pytest.raises(Unauthorized, match="expired"):
        await verifier.verify(token)


async def test_entries_last_at_most_the_ttl(settings: ServiceSettings, decodes: list[str]) -> None:
    clock = _Clock()
    verifier = TokenVerifier(settings, cache_ttl=60, clock=clock)
    token = issue_dev_token(settings, "health", ["caseworker"])
    await verifier.verify(token)
    clock.now += 59
    await verifier.verify(token)
    clock.now += 2
    await verifier.verify(token)
    assert decodes == [token, token]


async def test_an_entry_never_outlives_the_tokens_exp(
    settings: ServiceSettings, decodes: list[str]
) -> None:
    clock = _Clock()
    verifier = TokenVerifier(settings, cache_ttl=3600, clock=clock)
    token = issue_dev_token(settings, "health", ["caseworker"], ttl=timedelta(minutes=5))
    await verifier.verify(token)
    # Past exp + leeway on the verifier's clock: the cache must not answer; the real check
    # (on the real clock, where the token is still valid) runs again.
    clock.now += 5 * 60 + 31
    await verifier.verify(token)
    assert decodes == [token, token]


async def test_the_cache_is_bounded_least_recently_used_first(
    settings: ServiceSettings, decodes: list[str]
) -> None:
    verifier = TokenVerifier(settings, cache_size=2)
    a, b, c = (issue_dev_token(settings, "health", ["caseworker"]) for _ in range(3))
    for token in (a, b, a, c):  # c evicts b, the least recently used
        await verifier.verify(token)
    await verifier.verify(a)
    await verifier.verify(b)
    assert decodes == [a, b, c, b]
