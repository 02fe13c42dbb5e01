"""Verifying a signed slicegate bundle before anything is compiled.

The same rules as the Rust host (``slicegate verify``): the WebAssembly
tool-conventions *Signatures.md* layout (a ``signature`` custom section
first, or the same bytes detached; SHA-256 over every other section;
Ed25519 signatures with key ids), a trust store's keys, their validity
windows and threshold, the bundle's own window, and the highest revision
accepted per bundle name (a lower one is a rollback and refused).
"""

from __future__ import annotations

import hashlib
import os
import weakref
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import MappingProxyType
from typing import Mapping, Optional

import nacl.exceptions
import nacl.signing

from . import strict
from .trust import RevisionState, TrustedKey, TrustStore, TrustStoreError, usable_public_key
from .types import BundleManifest

# The trust store lives in `trust`; these names are read from here too.
__all__ = ["BundleRefused", "RevisionState", "TrustedKey", "TrustStore", "TrustStoreError", "VerifiedBundle", "verify"]

COMPONENT_HEADER = bytes([0x00, 0x61, 0x73, 0x6D, 0x0D, 0x00, 0x01, 0x00])
SIGNATURE_SECTION = "signature"
DELIMITER_SECTION = "signature_delimiter"
MANIFEST_SECTION = "slicegate-manifest"
MANIFEST_FORMAT = 1
_HEADER = bytes([0x01, 0x01, 0x01])  # spec version, content type wasm, SHA-256
_ED25519 = 0x01
_LAST_SECTION_ID = 11  # a component's sections: custom (0) to export (11)
# What `verify` returned: a Host runs only these.
_VERIFIED: "weakref.WeakSet[VerifiedBundle]" = weakref.WeakSet()


class BundleRefused(Exception):
    """The bundle may not run: why, in one sentence. Raised before anything
    is compiled or instantiated."""


def parse_instant(text: object, *, round_up: bool = False) -> datetime:
    """An RFC 3339 instant, read as the Rust host reads it."""
    return strict.parse_instant(text, round_up=round_up)


def now() -> datetime:
    return datetime.now(timezone.utc)


# ---------------------------------------------------------------- sections


@dataclass
class Section:
    id: int
    start: int  # the section's first byte (its id)
    end: int
    custom_name: Optional[str] = None
    data_start: int = 0  # a custom section's data, after its name


def _leb_u32(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    for i in range(5):
        if pos >= len(data):
            raise BundleRefused(f"the bundle is not a well-formed WebAssembly component: truncated at byte {pos}")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte & 0x80 == 0:
            if i == 4 and byte > 0x0F:
                break
            return value, pos
        shift += 7
    raise BundleRefused(f"the bundle is not a well-formed WebAssembly component: bad length at byte {pos}")


def sections(data: bytes) -> list[Section]:
    """The top-level sections of a component."""
    if data[:8] != COMPONENT_HEADER:
        raise BundleRefused("the bundle is not a well-formed WebAssembly component: bad preamble")
    out, pos = [], 8
    while pos < len(data):
        start = pos
        section_id = data[pos]
        size, pos = _leb_u32(data, pos + 1)
        end = pos + size
        if end > len(data):
            raise BundleRefused(
                f"the bundle is not a well-formed WebAssembly component: section at byte {start} runs past the end"
            )
        if section_id > _LAST_SECTION_ID:
            raise BundleRefused(f"the bundle is not a well-formed WebAssembly component: unknown section id {section_id} at byte {start}")
        section = Section(section_id, start, end)
        if section_id == 0:
            name_len, name_start = _leb_u32(data, pos)
            if name_start + name_len > end:
                raise BundleRefused(f"the bundle is not a well-formed WebAssembly component: bad custom section at byte {start}")
            try:
                section.custom_name = data[name_start : name_start + name_len].decode("utf-8")
            except UnicodeDecodeError:
                raise BundleRefused(f"the bundle is not a well-formed WebAssembly component: bad section name at byte {start}") from None
            section.data_start = name_start + name_len
        out.append(section)
        pos = end
    return out


def part_hashes(data: bytes, parsed: list[Section]) -> list[bytes]:
    """The rolling SHA-256 part hashes, skipping the signature section."""
    hasher, hashes, last_was_delimiter = hashlib.sha256(), [], False
    for s in parsed:
        if s.custom_name == SIGNATURE_SECTION:
            continue
        hasher.update(data[s.start : s.end])
        last_was_delimiter = s.custom_name == DELIMITER_SECTION
        if last_was_delimiter:
            hashes.append(hasher.copy().digest())
    if not last_was_delimiter:
        hashes.append(hasher.digest())
    return hashes


# ---------------------------------------------------------- signature data


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise BundleRefused("the bundle was changed after it was signed: the signature data is corrupt (field runs past the end)")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def count(self) -> int:
        try:
            value, self.pos = _leb_u32(self.data, self.pos)
        except BundleRefused:
            raise BundleRefused("the bundle was changed after it was signed: the signature data is corrupt (bad count)") from None
        return value

    def bytes(self) -> bytes:
        return self.take(self.count())

    def end(self) -> None:
        if self.pos != len(self.data):
            raise BundleRefused("the bundle was changed after it was signed: the signature data is corrupt (trailing bytes)")


@dataclass
class SignatureEntry:
    key_id: bytes
    algorithm: int
    signature: bytes


def decode_signature_data(raw: bytes) -> list[tuple[list[bytes], list[SignatureEntry]]]:
    reader = _Reader(raw)
    header = reader.take(3)
    if header != _HEADER:
        raise BundleRefused(f"the bundle was changed after it was signed: unsupported signature format {header.hex()}")
    sets = []
    for _ in range(reader.count()):
        set_reader = _Reader(reader.bytes())
        hashes = [set_reader.take(32) for _ in range(set_reader.count())]
        entries = []
        for _ in range(set_reader.count()):
            entry_reader = _Reader(set_reader.bytes())
            key_id = entry_reader.bytes()
            algorithm = entry_reader.take(1)[0]
            signature = entry_reader.bytes()
            entry_reader.end()
            entries.append(SignatureEntry(key_id, algorithm, signature))
        set_reader.end()
        sets.append((hashes, entries))
    reader.end()
    return sets


def _message(hashes: list[bytes]) -> bytes:
    return b"wasmsig" + _HEADER + b"".join(hashes)


def _signature_valid(entry: SignatureEntry, key: bytes, hashes: list[bytes]) -> bool:
    if entry.algorithm != _ED25519 or len(entry.signature) != 64 or not usable_public_key(key):
        return False
    try:
        # libsodium refuses a non-canonical S and a small-order R or key.
        nacl.signing.VerifyKey(key).verify(_message(hashes), entry.signature)
        return True
    except (nacl.exceptions.BadSignatureError, ValueError):
        return False


# ------------------------------------------------------------------ verify


@dataclass(frozen=True, eq=False)
class VerifiedBundle:
    """A bundle whose signatures, windows and manifest were checked. Frozen,
    and only what :func:`verify` made counts as verified (see
    :func:`is_verified`)."""

    data: bytes
    sha256: str  # the signed content's identity, as the Rust host reports it
    manifest: Mapping  # read-only
    signers: tuple
    not_before: Optional[datetime] = None
    not_after: Optional[datetime] = None  # the bundle's, or its keys', earlier
    limited_by: Optional[str] = None

    @property
    def name(self) -> str:
        return self.manifest["name"]

    @property
    def revision(self) -> int:
        return self.manifest["revision"]

    def out_of_window(self, at: datetime) -> Optional[str]:
        if self.not_before is not None and at < self.not_before:
            return f"it is not valid before {self.not_before.isoformat()}"
        if self.not_after is not None and at > self.not_after:
            return f"its window ended at {self.not_after.isoformat()} ({self.limited_by}); a newer valid bundle must replace it"
        return None


def _signature_data(data: bytes, parsed: list[Section], detached: Optional[bytes]) -> bytes:
    signature_sections = [(i, s) for i, s in enumerate(parsed) if s.custom_name == SIGNATURE_SECTION]
    if len(signature_sections) > 1:
        raise BundleRefused(f"the bundle was changed after it was signed: it has {len(signature_sections)} signature sections")
    if signature_sections and signature_sections[0][0] != 0:
        raise BundleRefused("the bundle was changed after it was signed: the signature section must be the first section")
    if detached is not None:
        return detached
    if signature_sections:
        s = signature_sections[0][1]
        return data[s.data_start : s.end]
    raise BundleRefused("the bundle is unsigned: it has no signature section and no detached signature was given")


def _manifest(data: bytes, parsed: list[Section]) -> dict:
    """The manifest, read as strictly as the Rust host reads it: every field
    typed, none unknown, none twice."""
    found = [s for s in parsed if s.custom_name == MANIFEST_SECTION]
    if len(found) != 1:
        raise BundleRefused(f"the bundle has {len(found)} manifest sections; it needs exactly one")
    try:
        raw = strict.loads(data[found[0].data_start : found[0].end])
        BundleManifest.from_json(raw, "manifest")
    except ValueError as e:
        raise BundleRefused(f"the bundle's manifest is malformed: {e}") from None
    if raw["format"] > MANIFEST_FORMAT:
        raise BundleRefused(f"the bundle's manifest format {raw['format']} is newer than this host reads")
    return raw


def _count_signatures(entries, trust: TrustStore, hashes, at):
    valid, valid_keys, unknown, not_valid, bad = [], set(), [], None, None
    for entry in entries:
        key_id = entry.key_id.decode("utf-8", "replace")
        candidates = list(trust.keys) if not key_id else [k for k in trust.keys if k.id == key_id]
        if not candidates:
            unknown.append(key_id or "(no key id)")
            continue
        key = next((k for k in candidates if _signature_valid(entry, k.public_key, hashes)), None)
        if key is None:
            if key_id:
                bad = key_id
            else:
                unknown.append("(no key id)")
            continue
        why = key.invalid_at(at)
        if why is not None:
            not_valid = (key.id, why)
        elif key.public_key not in valid_keys:
            valid_keys.add(key.public_key)
            valid.append(key.id)
    required = max(trust.threshold, 1)
    if len(valid) >= required:
        return sorted(valid)
    if not valid:
        if bad is not None:
            raise BundleRefused(f"the bundle was changed after it was signed: the signature by key `{bad}` does not verify")
        if not_valid is not None:
            raise BundleRefused(f"the signing key `{not_valid[0]}` is {not_valid[1]} at the time of loading")
        if unknown:
            raise BundleRefused(f"no signature is from a key in the trust store (signed by: {', '.join(unknown)})")
    raise BundleRefused(
        f"{len(valid)} valid signature(s) from distinct trusted keys ({', '.join(valid)}); the trust store requires {required}"
    )


def verify(data: bytes, trust: TrustStore, detached: Optional[bytes] = None, at: Optional[datetime] = None) -> VerifiedBundle:
    """Checks `data` (and a detached signature) against `trust` at `at`
    (now by default). The revision rule needs state: see :func:`accept`."""
    at = at or now()
    parsed = sections(data)
    sets = decode_signature_data(_signature_data(data, parsed, detached))
    hashes = part_hashes(data, parsed)
    entries = [e for set_hashes, set_entries in sets if set_hashes == hashes for e in set_entries]
    if not entries:
        raise BundleRefused("the bundle was changed after it was signed: its content does not match the hashes it was signed over")
    signers = _count_signatures(entries, trust, hashes, at)
    manifest = _manifest(data, parsed)
    try:
        window = {
            w: parse_instant(manifest[w], round_up=w == "notBefore") if manifest.get(w) is not None else None
            for w in ("notBefore", "notAfter")
        }
    except ValueError as e:
        raise BundleRefused(f"the bundle's manifest is malformed: {e}") from None
    if window["notBefore"] is not None and at < window["notBefore"]:
        raise BundleRefused(f"the bundle is not valid before {manifest['notBefore']}")
    if window["notAfter"] is not None and at > window["notAfter"]:
        raise BundleRefused(f"the bundle expired at {manifest['notAfter']}")
    not_after, limited_by = window["notAfter"], None
    if not_after is not None:
        limited_by = f"the bundle's not-after ({manifest['notAfter']})"
    # The bundle stays signed by `threshold` valid keys until the
    # threshold-th latest expiry among its signers.
    expiries = [k.not_after for k in trust.keys if k.id in signers]
    ends = [t for t in expiries if t is None] + sorted((t for t in expiries if t is not None), reverse=True)
    required = max(trust.threshold, 1)
    if len(ends) >= required and ends[required - 1] is not None:
        keys_end = ends[required - 1]
        if not_after is None or keys_end < not_after:
            not_after = keys_end
            limited_by = f"the last instant {required} of its signing keys are valid"
    bundle = VerifiedBundle(
        bytes(data),
        hashes[-1].hex(),
        MappingProxyType(dict(manifest)),
        tuple(signers),
        window["notBefore"],
        not_after,
        limited_by,
    )
    _VERIFIED.add(bundle)
    return bundle


def is_verified(bundle: object) -> bool:
    """Whether `bundle` is what :func:`verify` returned."""
    return isinstance(bundle, VerifiedBundle) and bundle in _VERIFIED


def check_rollback(bundle: VerifiedBundle, trust: TrustStore) -> None:
    """Refuses a revision lower than the highest accepted for the name."""
    highest = RevisionState(trust.state_path).highest().get(bundle.name)
    if highest is not None and bundle.revision < highest:
        raise BundleRefused(
            f"bundle `{bundle.name}` revision {bundle.revision} is lower than revision {highest} already accepted (rollback refused)"
        )


def record(bundle: VerifiedBundle, trust: TrustStore) -> None:
    """Records the bundle's revision as accepted: call it once the bundle
    compiled and instantiated, so a bundle that never ran cannot raise the
    floor."""
    RevisionState(trust.state_path).record(bundle.name, bundle.revision)


def read_bundle(path: str | os.PathLike) -> tuple[bytes, Optional[bytes]]:
    """A bundle file and its detached signature (``<bundle>.sig``) when the
    bundle carries none of its own."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise BundleRefused(f"reading bundle {path}: {e.strerror or e}") from None
    sig = Path(str(path) + ".sig")
    embedded = False
    try:
        embedded = any(s.custom_name == SIGNATURE_SECTION for s in sections(data))
    except BundleRefused:
        pass
    detached = sig.read_bytes() if sig.is_file() and not embedded else None
    return data, detached
