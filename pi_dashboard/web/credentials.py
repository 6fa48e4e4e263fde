"""The password hash and the API tokens: `auth.json` in the data directory (docs/security.md).

Only the CLI writes `auth.json` (`set-password`, `token create|revoke`); the daemon reads it again
whenever its modification time changes, so a revoked token stops working on its next request.
The daemon writes only `auth-used.json` (each token's last use, at most once a minute), so the
two never overwrite each other's changes. Both are written whole, to a temporary file renamed
over the old one, owner-only.

The password is hashed with scrypt (hashlib, i.e. OpenSSL: no extra dependency on the Pi) at
N=2^14, r=8, p=1: 16 MiB and about 0.05 s on a desktop core, 0.5 s on a Pi Zero 2 W. A token is
32 random bytes, so a single SHA-256 is enough: there is nothing to guess.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pi_dashboard.errors import PiDashboardError

AUTH_FILE = "auth.json"
USED_FILE = "auth-used.json"
TOKEN_PREFIX = "pid_"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 1 << 14, 8, 1
SCRYPT_MAXMEM = 64 * 1024 * 1024
MIN_PASSWORD = 8
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, salt: bytes | None = None) -> str:
    """`scrypt$N$r$p$salt$hash`: the parameters travel with the hash, so they can change later."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
        maxmem=SCRYPT_MAXMEM, dklen=32,
    )  # fmt: skip
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Constant-time compare; a malformed stored hash never matches."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        got = hashlib.scrypt(
            password.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p),
            maxmem=SCRYPT_MAXMEM, dklen=len(_unb64(digest)),
        )  # fmt: skip
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, _unb64(digest))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class Token:
    name: str
    hash: str
    created: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Credentials:
    """What `auth.json` holds."""

    password: str | None = None
    """The scrypt hash, or None before `set-password`."""
    tokens: tuple[Token, ...] = ()

    def token_named(self, hashed: str) -> str | None:
        """The name of the token with this hash, or None."""
        for t in self.tokens:
            if hmac.compare_digest(t.hash, hashed):
                return t.name
        return None


class CredentialFile:
    """`auth.json` (and `auth-used.json`) in `directory`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / AUTH_FILE
        self.used_path = directory / USED_FILE

    # --- reading -------------------------------------------------------------------------

    def stamp(self) -> tuple[int, int] | None:
        """(mtime in ns, inode) of auth.json, None if absent: changes whenever the CLI writes."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return st.st_mtime_ns, st.st_ino

    def load(self) -> Credentials:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return Credentials()
        except (OSError, ValueError) as e:
            raise PiDashboardError(f"cannot read {self.path}: {e}") from None
        if not isinstance(raw, dict):
            raise PiDashboardError(f"cannot read {self.path}: not a JSON object")
        try:
            tokens = tuple(
                Token(name=str(t["name"]), hash=str(t["hash"]), created=float(t["created"]))
                for t in raw.get("tokens", [])
            )
        except (KeyError, TypeError, ValueError) as e:
            raise PiDashboardError(f"cannot read {self.path}: bad token entry ({e})") from None
        password = raw.get("password")
        return Credentials(password=password if isinstance(password, str) else None, tokens=tokens)

    def last_used(self) -> dict[str, float]:
        try:
            raw = json.loads(self.used_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(raw, dict):
            return {}
        return {str(k): float(v) for k, v in raw.items() if isinstance(v, (int, float))}

    # --- writing (the CLI: auth.json; the daemon: auth-used.json) ------------------------

    def save(self, creds: Credentials) -> None:
        data = {
            "password": creds.password,
            "tokens": [
                {"name": t.name, "hash": t.hash, "created": t.created} for t in creds.tokens
            ],
        }
        self._write(self.path, data)

    def save_used(self, used: Mapping[str, float]) -> None:
        self._write(self.used_path, dict(used))

    def _write(self, path: Path, data: object) -> None:
        try:
            self.directory.mkdir(mode=0o750, parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, indent=1)
                f.flush()
                os.fsync(f.fileno())
            _own_like(tmp, self.directory)
            os.replace(tmp, path)
        except OSError as e:
            with contextlib.suppress(OSError, UnboundLocalError):
                os.unlink(tmp)
            raise PiDashboardError(f"cannot write {path}: {e.strerror or e}") from None

    # --- what the CLI does ---------------------------------------------------------------

    def set_password(self, password: str) -> None:
        if len(password) < MIN_PASSWORD:
            raise PiDashboardError(f"the password must have at least {MIN_PASSWORD} characters")
        creds = self.load()
        self.save(replace(creds, password=hash_password(password)))

    def create_token(self, name: str, now: float | None = None) -> str:
        """A new token: returned once, stored only as its hash."""
        if not NAME_RE.match(name):
            raise PiDashboardError(
                f'"{name}" is not a token name (letters, digits, "_", ".", "-"; at most 64)'
            )
        creds = self.load()
        if any(t.name == name for t in creds.tokens):
            raise PiDashboardError(f'a token named "{name}" exists: revoke it first')
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        entry = Token(name=name, hash=hash_token(token), created=now or time.time())
        self.save(replace(creds, tokens=(*creds.tokens, entry)))
        return token

    def revoke_token(self, name: str) -> None:
        creds = self.load()
        kept = tuple(t for t in creds.tokens if t.name != name)
        if len(kept) == len(creds.tokens):
            raise PiDashboardError(f'no token named "{name}"')
        self.save(replace(creds, tokens=kept))

    def describe(self) -> list[dict[str, Any]]:
        used = self.last_used()
        return [
            {"name": t.name, "created": t.created, "last_used": used.get(t.name)}
            for t in self.load().tokens
        ]


def _own_like(path: Path, directory: Path) -> None:
    """Written by root (`sudo pi-dashboard token create`) into the service's directory: the
    file must still belong to the service's user, who reads it."""
    if os.geteuid() != 0:
        return
    st = os.stat(directory)
    if st.st_uid != 0 or st.st_gid != 0:
        os.chown(path, st.st_uid, st.st_gid)
