"""Typed values of the ``slicegate:policy/placement`` interface.

One dataclass per WIT record (field ``software_version`` is WIT
``software-version`` and JSON ``softwareVersion``), enums as their WIT case
names. ``tests/test_types.py`` checks every dataclass against the record
types the component itself declares, so a WIT change cannot drift past
them. ``from_json`` reads the JSON the decision service takes, with the
same defaults and refusals as the Rust host: unknown fields are refused,
omitted ``softwareSigned``/``sbom``/``authorityApproved`` read as false
(which can only deny), omitted ``components`` as none.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Literal, Optional, Union

Operation = Literal["place", "scale", "upgrade", "heal", "operate", "remote-manage", "interconnect", "terminate"]
CustomerCategory = Literal[
    "consumer", "enterprise", "critical-infrastructure", "public-safety", "government", "defense", "diplomatic"
]
ShareMetric = Literal["sites", "cells", "traffic"]

U8, U32, U64 = (0, 255), (0, 2**32 - 1), (0, 2**64 - 1)


def _json_name(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.capitalize() for p in rest)


def _wit_name(name: str) -> str:
    return name.replace("_", "-")


class Value:
    """Base of the records: JSON in, WIT values out."""

    @classmethod
    def from_json(cls, data: object, where: str = "request"):
        # Exact types only: a subclass could answer a check one way and
        # reach the component another way.
        if type(data) is not dict:
            raise ValueError(f"{where}: expected an object")
        if any(type(k) is not str for k in data):
            raise ValueError(f"{where}: every field name must be a string")
        hints = typing.get_type_hints(cls)
        fields = {_json_name(f.name): f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise ValueError(f"{where}: unknown field `{unknown[0]}`, expected one of {sorted(fields)}")
        values = {}
        for json_name, f in fields.items():
            here = f"{where}.{json_name}"
            if json_name not in data:
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    raise ValueError(f"{here}: missing field")
                continue
            values[f.name] = _decode(hints[f.name], data[json_name], here, f.metadata.get("range"))
        return cls(**values)

    def to_json(self) -> dict:
        """The value as the JSON the decision service takes (camelCase)."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is not None:
                out[_json_name(f.name)] = _to_json(value)
        return out

    def checked(self):
        """The value read back through :meth:`from_json`: a field of the wrong
        type or out of range (wasmtime-py would truncate an int to the
        field's width) raises ValueError instead of reaching the component."""
        return type(self).from_json(self.to_json(), type(self).__name__)

    def to_wit(self):
        """The value as wasmtime's component API takes it."""
        from wasmtime.component import Record

        record = Record()
        for f in dataclasses.fields(self):
            setattr(record, _wit_name(f.name), _lower(getattr(self, f.name)))
        return record


def _to_json(value):
    if isinstance(value, Value):
        return value.to_json()
    if isinstance(value, list):
        return [_to_json(v) for v in value]
    return value


def _lower(value):
    if isinstance(value, Value):
        return value.to_wit()
    if isinstance(value, list):
        return [_lower(v) for v in value]
    return value


def _decode(hint, value, where, bounds=None):
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is Union:  # Optional[X]
        inner = [a for a in args if a is not type(None)][0]
        return None if value is None else _decode(inner, value, where, bounds)
    if origin is Literal:
        if type(value) is not str or value not in args:
            raise ValueError(f"{where}: `{value}` is not one of {list(args)}")
        return value
    if origin is list:
        if type(value) is not list:
            raise ValueError(f"{where}: expected a list")
        return [_decode(args[0], v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(hint, type) and issubclass(hint, Value):
        return hint.from_json(value, where)
    if hint is bool:
        if type(value) is not bool:
            raise ValueError(f"{where}: expected true or false")
        return value
    if hint is int:
        low, high = bounds or U32
        if type(value) is not int or not low <= value <= high:
            raise ValueError(f"{where}: expected a whole number from {low} to {high}")
        return value
    if hint is str:
        if type(value) is not str:
            raise ValueError(f"{where}: expected a string")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(f"{where}: not well-formed Unicode (a lone surrogate)") from None
        return value
    raise TypeError(f"{where}: no decoder for {hint}")


def _u(bounds):
    return field(metadata={"range": bounds})


@dataclass
class CriticalComponentNotice(Value):
    filed: str
    prohibited: bool


@dataclass
class Equipment(Value):
    id: str
    vendor: str
    model: str
    software_version: str
    subsidy_funded: bool
    software_signed: bool = False
    sbom: bool = False
    components: list[str] = field(default_factory=list)
    critical_component_notice: Optional[CriticalComponentNotice] = None


@dataclass
class Slice(Value):
    id: str
    sst: int = _u(U8)
    category: CustomerCategory = _u(None)
    us_federal: bool = _u(None)
    sd: Optional[int] = field(default=None, metadata={"range": U32})


@dataclass
class Site(Value):
    id: str
    country: str
    sensitive: bool
    host: Optional[str] = None


@dataclass
class RemoteSession(Value):
    from_country: str
    provider: str
    authority_approved: bool = False


@dataclass
class PlacementRequest(Value):
    operation: Operation
    equipment: Equipment
    slice: Slice
    site: Site
    network: str
    peer: Optional[str] = None
    remote: Optional[RemoteSession] = None
    # A what-if time (RFC 3339): honoured only where the host permits it;
    # otherwise the host's clock decides.
    at: Optional[str] = None


@dataclass
class PlanItem(Value):
    equipment: Equipment
    slice: Slice
    site: Site
    weight: int = _u(U32)


@dataclass
class PlanChange(Value):
    operation: Operation
    item: PlanItem
    peer: Optional[str] = None
    remote: Optional[RemoteSession] = None


@dataclass
class DeploymentPlan(Value):
    network: str
    metric: ShareMetric
    installed: list[PlanItem]
    changes: list[PlanChange]
    at: Optional[str] = None


@dataclass
class EntityUid(Value):
    type_name: str
    id: str


@dataclass
class CedarRequest(Value):
    """A generic Cedar request (the ``authorizer`` interface)."""

    principal: EntityUid
    action: EntityUid
    resource: EntityUid
    context_json: str = "{}"
    validate: bool = True
    entities_json: Optional[str] = None


# --------------------------------------------------------------- manifest


@dataclass
class FileDigest(Value):
    path: str
    kind: str
    sha256: str


@dataclass
class PolicySummary(Value):
    id: str
    effect: str
    file: str
    pack: Optional[str] = None
    reason: Optional[str] = None
    source: Optional[str] = None


@dataclass
class BundleManifest(Value):
    """A bundle's manifest, read with the Rust host's rules (every field
    typed, none unknown)."""

    format: int = _u(U32)
    name: str = _u(None)
    revision: int = _u(U64)
    created_at: str = _u(None)
    compiler: str = _u(None)
    engine_version: str = _u(None)
    engine_sha256: str = _u(None)
    cedar_version: str = _u(None)
    schema_sha256: str = _u(None)
    files: list[FileDigest] = _u(None)
    packs: list[str] = _u(None)
    policy_count: int = _u(U32)
    policies: list[PolicySummary] = _u(None)
    not_before: Optional[str] = None
    not_after: Optional[str] = None
    tests: Optional[str] = None
    compiled_policies: Optional[int] = field(default=None, metadata={"range": U32})


# ---------------------------------------------------------------- answers


@dataclass
class Failure:
    """Why a request was denied other than by a policy (the Rust host's
    kinds: forbid-errored, invalid-request, unknown-entity,
    schema-violation, policy-load, not-loaded, limit, trap, internal,
    bundle-expired)."""

    kind: str
    detail: str = ""


@dataclass
class DeterminingPolicy:
    policy_id: str
    permit: bool
    pack: Optional[str] = None
    reason: Optional[str] = None
    source: Optional[str] = None


@dataclass
class PolicyError:
    policy_id: str
    permit: bool
    message: str


@dataclass
class Decision:
    """``allowed`` is the only field to enforce; the rest explains it."""

    allowed: bool
    failure: Optional[Failure] = None
    determining: list[DeterminingPolicy] = field(default_factory=list)
    errors: list[PolicyError] = field(default_factory=list)
    bundle_revision: Optional[int] = None
    evaluated_at: Optional[tuple[str, str]] = None  # ("host-clock" | "what-if", instant)

    @staticmethod
    def denied(kind: str, detail: str = "") -> "Decision":
        return Decision(False, Failure(kind, detail))

    def determining_ids(self) -> list[str]:
        return [p.policy_id for p in self.determining]


@dataclass
class ItemDecision:
    equipment_id: str
    operation: str
    decision: Decision


@dataclass
class PlanResult:
    allowed: bool
    failure: Optional[Failure]
    items: list[ItemDecision]
    plan: Decision
    access_weight: int = 0
    listed_shares: list[tuple[str, int]] = field(default_factory=list)
    vendor_shares: list[tuple[str, int]] = field(default_factory=list)
    evaluated_at: Optional[tuple[str, str]] = None

    @staticmethod
    def refused(failure: Failure) -> "PlanResult":
        return PlanResult(False, failure, [], Decision(False, failure))
