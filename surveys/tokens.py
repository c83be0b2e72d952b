"""Survey link tokens.

A link carries a 256-bit token. It is not stored anywhere: each invitation keeps a random
seed, and the token is HMAC-SHA256(SECRET_KEY, seed), so the invitation email and its
reminder (rendered at delivery, by the outbox handler) and the requester's ticket page
all show the same link, while a copy of the database (or of the outbox, which keeps sent
emails' payloads) holds no working link. The invitation is found by the SHA-256 of the
token under a UNIQUE index: comparing hashes leaks nothing useful about the token, and a
guessed or altered token finds nothing.
"""

from __future__ import annotations

import base64
import hashlib
import secrets

from django.conf import settings
from django.utils.crypto import salted_hmac

SALT = "surveys.invitation-token"
TOKEN_LENGTH = 43  # 32 bytes, base64url without padding
_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def new_seed() -> str:
    return secrets.token_hex(32)


def token_for(seed: str, *, secret: str | None = None) -> str:
    digest = salted_hmac(SALT, seed, secret=secret or settings.SECRET_KEY, algorithm="sha256")
    return base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_token(value: str) -> bool:
    return len(value) == TOKEN_LENGTH and set(value) <= _ALPHABET


def token_of(*, seed: str, expected_hash: str) -> str | None:
    """The token of an invitation, for a link. Made with SECRET_KEY, or with an older key
    still listed in SECRET_KEY_FALLBACKS when the invitation predates a key rotation;
    None if no key makes it (its links were made with a key since dropped)."""
    for secret in [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]:
        token = token_for(seed, secret=secret)
        if secrets.compare_digest(token_hash(token), expected_hash):
            return token
    return None
