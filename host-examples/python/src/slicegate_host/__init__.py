"""Embed a signed slicegate policy bundle in a Python orchestrator.

    from slicegate_host import Host
    host = Host.load("bundle.wasm", "trust.toml")   # verified before compiling
    decision = host.decide(request)                  # a PlacementRequest or its JSON
    if not decision.allowed: ...
"""

from .bundle import BundleRefused, TrustStore, TrustStoreError, VerifiedBundle, read_bundle, verify
from .host import Host, Limits
from .types import (
    CedarRequest,
    CriticalComponentNotice,
    Decision,
    DeploymentPlan,
    EntityUid,
    Equipment,
    Failure,
    PlacementRequest,
    PlanChange,
    PlanItem,
    PlanResult,
    RemoteSession,
    Site,
    Slice,
)

__all__ = [
    "BundleRefused",
    "CedarRequest",
    "CriticalComponentNotice",
    "Decision",
    "DeploymentPlan",
    "EntityUid",
    "Equipment",
    "Failure",
    "Host",
    "Limits",
    "PlacementRequest",
    "PlanChange",
    "PlanItem",
    "PlanResult",
    "RemoteSession",
    "Site",
    "Slice",
    "TrustStore",
    "TrustStoreError",
    "VerifiedBundle",
    "read_bundle",
    "verify",
]
