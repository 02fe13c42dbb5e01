"""The trust store (which keys may sign, when, and how many must) and the
record of the highest revision accepted per bundle name: the Rust host's
TOML and JSON formats, read as strictly as the Rust host reads them."""

from __future__ import annotations

import json
import os
import re
import tempfile
import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Optional

import nacl.bindings

from . import strict

_U64_MAX = 2**64 - 1
_HEX_KEY = re.compile(r"[0-9a-fA-F]{64}")


class TrustStoreError(Exception):
    """The trust store (or the revision state beside it) is not usable."""


def usable_public_key(raw: bytes) -> bool:
    """A canonical Ed25519 point of large order: a small-order key (the
    identity, an all-zero placeholder) verifies forged signatures."""
    return len(raw) == 32 and bool(nacl.bindings.crypto_core_ed25519_is_valid_point(raw))


def parse_instant(text: object, *, round_up: bool = False) -> datetime:
    return strict.parse_instant(text, round_up=round_up)


# ------------------------------------------------------------- trust store


@dataclass
class TrustedKey:
    id: str
    public_key: bytes
    not_before: Optional[datetime] = None
    not_after: Optional[datetime] = None

    def invalid_at(self, at: datetime) -> Optional[str]:
        if self.not_before is not None and at < self.not_before:
            return "not yet valid"
        if self.not_after is not None and at > self.not_after:
            return "expired"
        return None


@dataclass
class TrustStore:
    """Keys with ids and windows, a threshold (k of n), and where the highest
    accepted revisions are recorded: the Rust host's TOML format."""

    threshold: int
    keys: list[TrustedKey]
    state_path: Path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "TrustStore":
        path = Path(path)
        try:
            # Bytes as they are: no newline translation (a bare CR is refused).
            text = path.read_bytes().decode("utf-8")
        except OSError as e:
            raise TrustStoreError(f"{path}: {e.strerror or e}") from None
        except UnicodeDecodeError as e:
            raise TrustStoreError(f"{path}: not UTF-8: {e}") from None
        return cls.from_toml(text, path)

    @classmethod
    def from_toml(cls, text: str, path: Path) -> "TrustStore":
        def invalid(message: str) -> TrustStoreError:
            return TrustStoreError(f"trust store {path}: {message}")

        if re.search(r"\r(?!\n)", text):
            raise invalid("a carriage return that is not part of a line break")
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise invalid(str(e)) from None
        unknown = set(doc) - {"threshold", "state", "keys"}
        if unknown:
            raise invalid(f"unknown field(s) {sorted(unknown)}")
        threshold = doc.get("threshold")
        if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 0:
            raise invalid("threshold must be a whole number")
        keys: list[TrustedKey] = []
        for entry in doc.get("keys", []):
            if not isinstance(entry, dict):
                raise invalid("every [[keys]] entry must be a table")
            extra = set(entry) - {"id", "public_key", "not_before", "not_after"}
            if extra or not isinstance(entry.get("id"), str) or not isinstance(entry.get("public_key"), str):
                raise invalid(f"key entry {entry.get('id', '?')}: needs id and public_key, and nothing else but not_before/not_after")
            key_id = entry["id"]
            if any(k.id == key_id for k in keys):
                raise invalid(f"key id `{key_id}` appears twice")
            hex_key = entry["public_key"].strip()
            raw = bytes.fromhex(hex_key) if _HEX_KEY.fullmatch(hex_key) else b""
            if len(raw) != 32:
                raise invalid(f"key `{key_id}`: public_key must be 64 hex digits")
            if not usable_public_key(raw):
                raise invalid(f"key `{key_id}`: not a usable Ed25519 public key (small order or not a curve point)")
            twin = next((k for k in keys if k.public_key == raw), None)
            if twin is not None:
                raise invalid(f"key `{key_id}` has the same public key as `{twin.id}`: one key under two ids would count twice towards the threshold")
            try:
                windows = {
                    w: parse_instant(entry[w], round_up=w == "not_before") if w in entry else None
                    for w in ("not_before", "not_after")
                }
            except ValueError as e:
                raise invalid(f"key `{key_id}`: {e}") from None
            keys.append(TrustedKey(key_id, raw, **windows))
        if threshold == 0:
            raise invalid("threshold must be at least 1")
        if threshold > len(keys):
            raise invalid(f"threshold {threshold} is more than the {len(keys)} key(s) listed")
        state = doc.get("state")
        if state is None:
            state_path = path.parent / f"{path.name}.state.json"
        elif isinstance(state, str):
            state_path = path.parent / state if not os.path.isabs(state) else Path(state)
        else:
            raise invalid("state must be a path")
        return cls(threshold, keys, state_path)


class RevisionState:
    """The highest revision accepted per bundle name, written atomically
    (shared with the Rust host when both use the same trust store)."""

    def __init__(self, path: Path):
        self.path = path

    def highest(self) -> dict[str, int]:
        try:
            data = strict.loads(self.path.read_bytes())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as e:
            raise TrustStoreError(f"{self.path}: revision state is corrupt: {e}") from None
        highest = data.get("highest") if isinstance(data, dict) else None
        if not isinstance(highest, dict) or not all(
            type(v) is int and 0 <= v <= _U64_MAX for v in highest.values()
        ):
            raise TrustStoreError(f"{self.path}: revision state is corrupt (`highest` must map names to revisions)")
        return highest

    def record(self, name: str, revision: int) -> None:
        highest = self.highest()
        if highest.get(name, -1) >= revision:
            return
        highest[name] = revision
        folder = self.path.parent
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{self.path.name}.")
        try:
            with os.fdopen(fd, "w") as f:
                json.dump({"highest": highest}, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
