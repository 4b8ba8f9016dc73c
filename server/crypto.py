"""Secrets at rest, password hashing and random tokens.

Channel secrets are encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under a key derived
from SWITCHBOARD_SECRET_KEY. Tokens handed to browsers, integrations and widget visitors are
256-bit random values; only their SHA-256 is stored, so a database leak reveals no token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken

from server.exceptions import ConfigError

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


class SecretBox:
    def __init__(self, key_material: bytes) -> None:
        digest = hashlib.sha256(b"switchboard-secrets\x00" + key_material).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def encrypt_json(self, data: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(data).encode()).decode()

    def decrypt_json(self, token: str | None) -> dict[str, Any]:
        if not token:
            return {}
        try:
            raw = self._fernet.decrypt(token.encode())
        except InvalidToken:
            raise ConfigError(
                "stored channel secrets cannot be decrypted: SWITCHBOARD_SECRET_KEY changed?"
            ) from None
        value = json.loads(raw)
        return value if isinstance(value, dict) else {}

    def sign(self, purpose: str, message: bytes) -> str:
        key = hashlib.sha256(purpose.encode() + b"\x00" + self._fernet._signing_key).digest()
        return hmac.new(key, message, hashlib.sha256).hexdigest()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        _hasher.hash(password)  # same cost either way: no user-enumeration by timing
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
