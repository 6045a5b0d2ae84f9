"""Bot Framework tokens: the signing key, its JWKS, and minting of valid and invalid tokens.

Two kinds of JWT exist around a Teams bot, and the stand-in issues both with one RSA key:

- **Channel -> bot** (what the bots gateway must verify): issuer ``https://api.botframework.com``,
  audience = the bot's app id, a ``serviceurl`` claim, RS256 with a ``kid`` published in the JWKS of
  the OpenID metadata document. botframework-connector's ``JwtTokenValidation`` accepts these when
  ``ChannelValidation.open_id_metadata_endpoint`` (or ``BotFrameworkAdapterSettings.open_id_metadata``)
  points at the stand-in. :class:`BotFrameworkTokenMinter` mints them, and the variants the gateway
  must reject (:class:`TokenVariant`).
- **Bot -> connector** (what the bot sends with its replies): what login.microsoftonline.com issues for
  the client-credentials grant, audience ``https://api.botframework.com``, ``appid`` = the bot's app id.
  :func:`issue_connector_token` / :func:`verify_connector_token`; :func:`fetch_connector_token` gets one
  from the stand-in's token endpoint.

The private key is kept in the state dir (mode 0600) so that another process (tests, the launcher) can
mint tokens the running stand-in accepts: :meth:`SigningKey.load_or_create`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"
CONNECTOR_AUDIENCE = "https://api.botframework.com"
#: The tenant id of botframework.com; real connector tokens carry it in ``iss`` and ``tid``.
BOT_FRAMEWORK_TENANT_ID = "d6d49420-f39b-4df7-a1dc-d59a935871db"
AAD_ISSUER = f"https://sts.windows.net/{BOT_FRAMEWORK_TENANT_ID}/"
DEFAULT_ENDORSEMENTS = ("msteams", "emulator", "webchat", "directline")
ALGORITHM = "RS256"

EpochClock = Callable[[], float]


class InvalidTokenError(Exception):
    """A bearer token the stand-in did not issue, or no longer accepts."""


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass(frozen=True)
class SigningKey:
    """An RSA private key and the ``kid`` it is published under."""

    private_key: rsa.RSAPrivateKey
    kid: str

    @classmethod
    def generate(cls, kid: str | None = None) -> SigningKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return cls(key, kid or cls._kid_for(key))

    @classmethod
    def from_pem(cls, pem: bytes, kid: str | None = None) -> SigningKey:
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("the signing key must be an RSA private key")
        return cls(key, kid or cls._kid_for(key))

    @classmethod
    def load_or_create(cls, path: Path) -> SigningKey:
        """Load the PEM at ``path``, or generate a key and write it there (mode 0600)."""
        if path.exists():
            return cls.from_pem(path.read_bytes())
        key = cls.generate()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(key.to_pem())
        try:
            os.link(tmp, path)  # atomic, and never replaces a key another process wrote first
        except FileExistsError:
            return cls.from_pem(path.read_bytes())
        finally:
            tmp.unlink()
        return key

    @staticmethod
    def _kid_for(key: rsa.RSAPrivateKey) -> str:
        der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return base64.urlsafe_b64encode(hashlib.sha1(der).digest()).rstrip(b"=").decode()  # noqa: S324

    def to_pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def public_jwk(self, endorsements: Iterable[str] = DEFAULT_ENDORSEMENTS) -> dict[str, Any]:
        """The key as the Bot Framework JWKS lists it (with the channels that endorse it)."""
        numbers = self.private_key.public_key().public_numbers()
        return {
            "kty": "RSA",
            "use": "sig",
            "alg": ALGORITHM,
            "kid": self.kid,
            "x5t": self.kid,
            "n": _b64url_uint(numbers.n),
            "e": _b64url_uint(numbers.e),
            "endorsements": list(endorsements),
        }

    def sign(self, claims: Mapping[str, Any]) -> str:
        return jwt.encode(
            dict(claims), self.private_key, algorithm=ALGORITHM, headers={"kid": self.kid, "x5t": self.kid}
        )


class TokenVariant(StrEnum):
    """What a minted channel token is: valid, or broken in one way the gateway must reject."""

    VALID = "valid"
    WRONG_AUDIENCE = "wrong-audience"  # aud is another app id
    EXPIRED = "expired"  # exp an hour ago (beyond botframework's 5 minute clock tolerance)
    WRONG_KEY = "wrong-key"  # same kid, signed by a key that is not in the JWKS
    WRONG_ISSUER = "wrong-issuer"  # iss is not https://api.botframework.com
    WRONG_SERVICE_URL = "wrong-service-url"  # serviceurl claim differs from the activity's serviceUrl


class BotFrameworkTokenMinter:
    """Mints channel -> bot tokens like the Bot Framework Service sends with each activity."""

    def __init__(self, key: SigningKey, *, clock: EpochClock = time.time) -> None:
        self.key = key
        self._clock = clock
        self._other_key: SigningKey | None = None

    def mint(
        self,
        app_id: str,
        service_url: str,
        variant: TokenVariant | str = TokenVariant.VALID,
        *,
        lifetime: int = 3600,
    ) -> str:
        variant = TokenVariant(variant)
        now = int(self._clock())
        claims: dict[str, Any] = {
            "serviceurl": service_url,
            "nbf": now - 5,
            "iat": now - 5,
            "exp": now + lifetime,
            "iss": BOT_FRAMEWORK_ISSUER,
            "aud": app_id,
        }
        if variant is TokenVariant.WRONG_AUDIENCE:
            claims["aud"] = "00000000-0000-0000-0000-00000000bad0"
        elif variant is TokenVariant.EXPIRED:
            claims.update(nbf=now - 2 * 3600, iat=now - 2 * 3600, exp=now - 3600)
        elif variant is TokenVariant.WRONG_ISSUER:
            claims["iss"] = "https://issuer.invalid/botframework"
        elif variant is TokenVariant.WRONG_SERVICE_URL:
            claims["serviceurl"] = "https://smba.invalid/teams/"
        if variant is TokenVariant.WRONG_KEY:
            if self._other_key is None:
                self._other_key = SigningKey.generate(kid=self.key.kid)
            return self._other_key.sign(claims)
        return self.key.sign(claims)

    def authorization(self, app_id: str, service_url: str, variant: TokenVariant | str = TokenVariant.VALID) -> str:
        """The ``Authorization`` header value: ``Bearer <token>``."""
        return "Bearer " + self.mint(app_id, service_url, variant)


def issue_connector_token(key: SigningKey, app_id: str, *, lifetime: int = 3599, clock: EpochClock = time.time) -> str:
    """A bot -> connector access token, as AAD issues for the client-credentials grant."""
    now = int(clock())
    return key.sign(
        {
            "aud": CONNECTOR_AUDIENCE,
            "iss": AAD_ISSUER,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "appid": app_id,
            "azp": app_id,
            "appidacr": "1",
            "tid": BOT_FRAMEWORK_TENANT_ID,
            "ver": "1.0",
        }
    )


def verify_connector_token(
    key: SigningKey, token: str, app_ids: Iterable[str], *, clock: EpochClock = time.time
) -> dict[str, Any]:
    """The claims of a connector token this stand-in issued to one of ``app_ids``."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key.private_key.public_key(),
            algorithms=[ALGORITHM],
            audience=CONNECTOR_AUDIENCE,
            issuer=AAD_ISSUER,
            options={"require": ["exp", "iat", "aud", "iss"], "verify_iat": False},
            leeway=0,
        )
    except jwt.PyJWTError as err:
        raise InvalidTokenError(str(err)) from err
    if claims["exp"] <= clock():
        raise InvalidTokenError("token expired")
    if claims.get("appid") not in set(app_ids):
        raise InvalidTokenError("token was issued to an unknown app")
    return claims


def fetch_connector_token(token_url: str, app_id: str, password: str, *, timeout: float = 10.0) -> str:
    """Client-credentials grant against the stand-in's token endpoint; returns the access token.

    (msal, which botframework's ``MicrosoftAppCredentials`` uses, only talks to https authorities, so
    code that runs against the sandbox gets its token with this instead.)
    """
    if urllib.parse.urlsplit(token_url).scheme not in {"http", "https"}:
        raise ValueError(f"not an http(s) URL: {token_url!r}")
    body = urllib.parse.urlencode(
        {
            "grant_type": "client_credentials",
            "client_id": app_id,
            "client_secret": password,
            "scope": CONNECTOR_AUDIENCE + "/.default",
        }
    ).encode()
    request = urllib.request.Request(token_url, data=body, method="POST")  # noqa: S310
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        answer = json.load(response)
    token = answer.get("access_token")
    if not isinstance(token, str):
        raise InvalidTokenError("the token endpoint answered without an access_token")
    return token
