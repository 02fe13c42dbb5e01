"""What the cross-host conformance run compares of an answer: the same
summary the Rust host writes (``slicegate test --export``)."""

from __future__ import annotations

from .types import Decision, PlanResult


def decision(d: Decision) -> dict:
    return {
        "allowed": d.allowed,
        "failure": d.failure.kind if d.failure else None,
        "determining": d.determining_ids(),
        "errors": [e.policy_id for e in d.errors],
    }


def plan(result: PlanResult) -> dict:
    return {
        "allowed": result.allowed,
        "failure": "refused" if result.failure else None,
        "items": [
            {"equipmentId": i.equipment_id, "operation": i.operation, "decision": decision(i.decision)}
            for i in result.items
        ],
        "plan": decision(result.plan),
        "accessWeight": result.access_weight,
        "listedShares": [[n, bp] for n, bp in result.listed_shares],
        "vendorShares": [[n, bp] for n, bp in result.vendor_shares],
    }
