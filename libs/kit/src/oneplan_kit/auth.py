"""OAuth2 bearer JWT authentication and role checks.

Only RS256 is accepted. In development tokens are signed with a local RSA key kept under
``./var/`` (shared by every service and by ``oneplan token``); anywhere else they are validated
against the identity provider's JWKS (``ONEPLAN_JWKS_URL``).

Claims: ``sub``, ``agency`` (``send``, ``school``, ``health``, ``social_care``, ``transport``,
``family`` or an integrator's agency name), ``roles`` (list), ``children`` (child ids a family
user may see), ``aud``, ``iss``, ``exp``.

Every identity accepted fits wherever a service records it: ``sub`` is 1 to 255 characters
with no control character (tab and newline included) nor any other code point the text rule
refuses, and is not blank; ``agency`` and each role are lower-case identifiers of at most 63
characters; at most 50 roles and 100 children. Any other token is a 401 whose ``claim`` member
names the claim.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import tempfile
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID, uuid4

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from oneplan_events.types import IDENTIFIER_PATTERN, refuse_unsafe_characters
from oneplan_events.vocabulary import KNOWN_AGENCIES
from oneplan_kit.config import DevelopmentKeyOutsideDevelopment, ServiceSettings
from oneplan_kit.errors import ServiceUnavailable, Unauthorized

__all__ = [
    "ALGORITHM",
    "DEV_KEY_ID",
    "KNOWN_AGENCIES",
    "MAX_CHILDREN",
    "MAX_ROLES",
    "MAX_SUB_LENGTH",
    "CurrentPrincipal",
    "Principal",
    "TokenVerifier",
    "issue_dev_token",
    "load_or_create_dev_key",
]

ALGORITHM = "RS256"
DEV_KEY_ID = "oneplan-dev"
_AGENCY = re.compile(IDENTIFIER_PATTERN)
_ROLE = _AGENCY
MAX_SUB_LENGTH = 255
"""The longest ``sub`` accepted: it fits every column that records who did something."""
MAX_ROLES = 50
MAX_CHILDREN = 100
_UUID_TEXT_MAX = 45  # the longest spelling UUID() accepts: "urn:uuid:" and 36 characters
_LEEWAY = timedelta(seconds=30)
_CACHE_TTL = 60.0
_CACHE_SIZE = 4096


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller."""

    sub: str
    agency: str
    roles: frozenset[str] = field(default_factory=frozenset)
    children: frozenset[UUID] = field(default_factory=frozenset)

    def has_role(self, *roles: str) -> bool:
        """True when the caller holds at least one of ``roles``."""
        return not self.roles.isdisjoint(roles)

    @property
    def is_family(self) -> bool:
        """True for a family member or young person (sees only their ``children``)."""
        return self.agency == "family"


def load_or_create_dev_key(path: Path) -> rsa.RSAPrivateKey:
    """Load the development RSA key at ``path``, creating it (mode 0600) on first use.

    Safe when several services start at once: the key is written to a temporary file and
    hard-linked into place, so exactly one key wins and everyone loads that one.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".dev-key-")
        try:
            os.write(fd, pem)
            os.close(fd)
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise ValueError(f"{path} does not hold an RSA private key")
    return loaded


def issue_dev_token(
    settings: ServiceSettings,
    agency: str,
    roles: Iterable[str],
    children: Iterable[UUID | str] = (),
    sub: str | None = None,
    ttl: timedelta = timedelta(hours=8),
) -> str:
    """Sign a development token (used by ``oneplan token`` and tests).

    Refused unless the settings use the development key in ``ONEPLAN_ENV=development``.
    """
    if not (settings.is_development and settings.uses_dev_signing_key):
        raise DevelopmentKeyOutsideDevelopment(
            "development tokens are only issued with ONEPLAN_ENV=development and no JWKS URL"
        )
    if not _AGENCY.fullmatch(agency):
        raise ValueError(f"agency must be a lower-case identifier, not {agency!r}")
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": sub or f"{agency}-user-{uuid4().hex[:8]}",
        "agency": agency,
        "roles": sorted(set(roles)),
        "children": [str(UUID(str(child))) for child in children],
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
        "jti": uuid4().hex,
    }
    key = load_or_create_dev_key(settings.signing_key_path)
    return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": DEV_KEY_ID})


class _VerifiedTokens:
    """Tokens that passed verification, with their principal, for a short while (LRU-bounded).

    Why: verifying an RS256 signature costs ~150 us of CPU, and a partner sends the same token
    on every request. An entry never outlives the moment the verifier itself would refuse the
    token (``exp`` plus the leeway) nor ``ttl`` seconds, so a key withdrawn from the JWKS stops
    being honoured within ``ttl``. Only successes are stored: a refused token is checked afresh
    every time.
    """

    def __init__(self, ttl: float, size: int, clock: Callable[[], float]) -> None:
        self._ttl = ttl
        self._size = size
        self._clock = clock
        self._entries: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    def get(self, token: str) -> Principal | None:
        entry = self._entries.get(token)
        if entry is None:
            return None
        principal, valid_until = entry
        if self._clock() >= valid_until:
            del self._entries[token]
            return None
        self._entries.move_to_end(token)
        return principal

    def put(self, token: str, principal: Principal, claims: dict[str, Any]) -> None:
        now = self._clock()
        valid_until = min(float(claims["exp"]) + _LEEWAY.total_seconds(), now + self._ttl)
        if valid_until <= now:
            return
        self._entries[token] = (principal, valid_until)
        self._entries.move_to_end(token)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)


class TokenVerifier:
    """Validates bearer tokens for one service's settings (dev key or JWKS).

    Successful verifications are remembered for at most ``cache_ttl`` seconds (and never past
    the token's ``exp``), up to ``cache_size`` tokens; ``cache_size=0`` turns that off.
    """

    def __init__(
        self,
        settings: ServiceSettings,
        *,
        cache_ttl: float = _CACHE_TTL,
        cache_size: int = _CACHE_SIZE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._public_key: rsa.RSAPublicKey | None = None
        self._jwks = (
            jwt.PyJWKClient(settings.jwks_url, cache_keys=True, lifespan=300)
            if settings.jwks_url
            else None
        )
        self._verified = _VerifiedTokens(cache_ttl, cache_size, clock)

    async def verify(self, token: str) -> Principal:
        """The principal a token names; :class:`Unauthorized` for any token we do not accept."""
        cached = self._verified.get(token)
        if cached is not None:
            return cached
        claims = await self._decode(token)
        principal = _principal_from(claims)
        self._verified.put(token, principal, claims)
        return principal

    async def _decode(self, token: str) -> dict[str, Any]:
        key = await self._key_for(token)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self._settings.jwt_audience,
                issuer=self._settings.jwt_issuer,
                leeway=_LEEWAY,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("The token has expired.", claim="exp") from exc
        except jwt.InvalidTokenError as exc:
            raise Unauthorized(f"The token is not valid: {exc}", claim=_claim_of(exc)) from exc
        return claims

    async def _key_for(self, token: str) -> Any:
        # Why check the header first: refuse alg "none" / HS256 before any key lookup, so a
        # public key can never be misused as an HMAC secret.
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise Unauthorized(f"The token is malformed: {exc}") from exc
        if header.get("alg") != ALGORITHM:
            raise Unauthorized(f"Only {ALGORITHM} tokens are accepted.")
        if self._jwks is None:
            return self._dev_public_key()
        try:
            signing_key = await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)
        except jwt.PyJWKClientConnectionError as exc:
            raise ServiceUnavailable("The identity provider's JWKS is unreachable.") from exc
        except jwt.PyJWKClientError as exc:
            raise Unauthorized(f"The token's signing key is unknown: {exc}") from exc
        return signing_key.key

    def _dev_public_key(self) -> rsa.RSAPublicKey:
        if self._public_key is None:
            private = load_or_create_dev_key(self._settings.signing_key_path)
            self._public_key = private.public_key()
        return self._public_key


_CLAIM_ERRORS: tuple[tuple[type[jwt.exceptions.InvalidTokenError], str], ...] = (
    (jwt.exceptions.InvalidAudienceError, "aud"),
    (jwt.exceptions.InvalidIssuerError, "iss"),
    (jwt.exceptions.InvalidSubjectError, "sub"),
    (jwt.exceptions.InvalidIssuedAtError, "iat"),
)


def _claim_of(exc: jwt.InvalidTokenError) -> str | None:
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return exc.claim
    return next((claim for kind, claim in _CLAIM_ERRORS if isinstance(exc, kind)), None)


def _principal_from(claims: dict[str, Any]) -> Principal:
    return Principal(
        sub=_sub_from(claims.get("sub")),
        agency=_agency_from(claims.get("agency")),
        roles=_roles_from(claims.get("roles", [])),
        children=_children_from(claims.get("children", [])),
    )


def _sub_from(sub: Any) -> str:
    if not isinstance(sub, str) or not sub.strip():
        raise Unauthorized("The token's 'sub' claim must be a non-blank string.", claim="sub")
    if len(sub) > MAX_SUB_LENGTH:
        raise Unauthorized(
            f"The token's 'sub' claim is {len(sub)} characters long; at most "
            f"{MAX_SUB_LENGTH} are accepted.",
            claim="sub",
        )
    try:
        refuse_unsafe_characters(sub, allow_tab_and_newline=False)
    except ValueError as exc:
        raise Unauthorized(f"The token's 'sub' claim is refused: {exc}", claim="sub") from None
    return sub


def _agency_from(agency: Any) -> str:
    if not isinstance(agency, str) or not _AGENCY.fullmatch(agency):
        raise Unauthorized(
            "The token has no valid 'agency' claim (a lower-case identifier of up to 63 "
            "characters).",
            claim="agency",
        )
    return agency


def _roles_from(roles: Any) -> frozenset[str]:
    if not isinstance(roles, list) or len(roles) > MAX_ROLES:
        raise Unauthorized(
            f"The token's 'roles' claim must be a list of at most {MAX_ROLES} role names.",
            claim="roles",
        )
    for position, role in enumerate(roles, start=1):
        if not isinstance(role, str) or not _ROLE.fullmatch(role):
            raise Unauthorized(
                f"The token's 'roles' claim holds an invalid role name (item {position}): a "
                "role is a lower-case identifier of up to 63 characters.",
                claim="roles",
            )
    return frozenset(roles)


def _children_from(raw_children: Any) -> frozenset[UUID]:
    if not isinstance(raw_children, list) or len(raw_children) > MAX_CHILDREN:
        raise Unauthorized(
            f"The token's 'children' claim must be a list of at most {MAX_CHILDREN} child ids.",
            claim="children",
        )
    children: set[UUID] = set()
    for position, child in enumerate(raw_children, start=1):
        try:
            if not isinstance(child, str) or len(child) > _UUID_TEXT_MAX:
                raise ValueError("not a UUID string")
            children.add(UUID(child))
        except ValueError:
            raise Unauthorized(
                f"The token's 'children' claim holds an invalid child id (item {position}).",
                claim="children",
            ) from None
    return frozenset(children)


_bearer = HTTPBearer(
    auto_error=False,
    bearerFormat="JWT",
    description="RS256 JWT with sub, agency, roles, children, aud, iss, exp.",
)


async def _current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("A bearer token is required.", error=None)
    verifier: TokenVerifier = request.app.state.token_verifier
    principal = await verifier.verify(credentials.credentials)
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(_current_principal)]
"""The authenticated caller; 401 problem when the bearer token is missing or refused."""
