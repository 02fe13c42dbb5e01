"""Deciding in the sandboxed component, failing closed.

A :class:`Host` holds one verified bundle, compiled once, and one
pre-initialised instance at a time. Every call runs with a fuel budget and
a memory cap; any trap (fuel, stack, memory, abort) denies with its reason
and the instance is discarded, so the next call gets a fresh one. The
guest's only import is a seed for its hash tables; every other import the
Rust standard library names (stdio, environment, exit) traps. Time is the
host's: a request's own ``at`` is refused unless the embedder permits
what-if evaluation.
"""

from __future__ import annotations

import os
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Iterable, Optional, Union

import wasmtime
from wasmtime import component as wc

from . import bundle as bundles
from .types import (
    CedarRequest,
    Decision,
    DeploymentPlan,
    DeterminingPolicy,
    Failure,
    ItemDecision,
    PlacementRequest,
    PlanResult,
    PolicyError,
)

INSECURE_SEED = "wasi:random/insecure-seed@0.2.6"
PACKAGE = "slicegate:policy"
VERSION = "0.1.0"


@dataclass(frozen=True)
class Limits:
    """The Rust host's defaults."""

    fuel_per_decision: int = 2_000_000_000
    memory_bytes: int = 512 << 20
    wasm_stack_bytes: int = 2 << 20


class _Failed(Exception):
    def __init__(self, failure: Failure):
        super().__init__(failure.detail)
        self.failure = failure


_ERROR_KINDS = {
    "invalid-request": "invalid-request",
    "unknown-entity": "unknown-entity",
    "schema-violation": "schema-violation",
    "policy-load": "policy-load",
    "not-loaded": "not-loaded",
    "internal": "internal",
}


def _failure_of(error: wc.Variant) -> Failure:
    """The Rust host's reading of the guest's `error` variant."""
    if error.tag == "limit-exceeded":
        return Failure("invalid-request", f"limit exceeded: {error.payload}")
    return Failure(_ERROR_KINDS.get(error.tag, "internal"), str(error.payload or ""))


def _decision_of(result) -> Decision:
    """A guest `result<decision, error>`; never trusts an allow that carries
    a fail-closed reason."""
    if isinstance(result, wc.Variant):
        return Decision(False, _failure_of(result))
    fail_closed = getattr(result, "fail-closed")
    return Decision(
        allowed=bool(result.allowed) and fail_closed is None,
        failure=None if fail_closed is None else Failure("forbid-errored", fail_closed),
        determining=[
            DeterminingPolicy(getattr(p, "policy-id"), p.permit, p.pack, p.reason, p.source) for p in result.determining
        ],
        errors=[PolicyError(getattr(e, "policy-id"), e.permit, e.message) for e in result.errors],
        bundle_revision=getattr(result, "bundle-revision"),
    )


def _reading_fault(error: Exception) -> str:
    if isinstance(error, ValueError):
        return str(error)
    if isinstance(error, RecursionError):
        return "the request refers to itself (or is nested too deeply)"
    return f"the request could not be read: {type(error).__name__}: {error}"


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Host:
    """One verified bundle, ready to decide."""

    def __init__(
        self,
        verified: bundles.VerifiedBundle,
        *,
        what_if: bool = False,
        limits: Limits = Limits(),
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ):
        if not bundles.is_verified(verified):
            raise TypeError("a Host runs only a bundle that `verify` (or `Host.load`) checked")
        self.bundle = verified
        self.what_if = what_if
        self.limits = limits
        self._clock = clock  # what the bundle's window is checked against
        config = wasmtime.Config()
        config.consume_fuel = True
        config.max_wasm_stack = limits.wasm_stack_bytes
        self._engine = wasmtime.Engine(config)
        try:
            self._component = wc.Component(self._engine, verified.data)
        except wasmtime.WasmtimeError as e:
            raise bundles.BundleRefused(f"the verified bundle does not compile: {e}") from None
        self._linker = wc.Linker(self._engine)
        with self._linker.root() as root:
            with root.add_instance(INSECURE_SEED) as seed:
                seed.add_func("insecure-seed", self._seed)
        self._linker.define_unknown_imports_as_traps(self._component)
        self._live: Optional[tuple[wasmtime.Store, wc.Instance]] = None
        # One guest call at a time: a store may not be entered from two
        # threads (wasmtime-py releases the GIL during a call).
        self._lock = threading.RLock()

    @classmethod
    def load(
        cls,
        bundle_path: Union[str, os.PathLike],
        trust_path: Union[str, os.PathLike],
        *,
        what_if: bool = False,
        limits: Limits = Limits(),
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ) -> "Host":
        """Verifies the bundle against the trust store (signatures,
        threshold, windows, rollback), records its revision, then compiles
        it. Raises :class:`BundleRefused` before compiling anything."""
        trust = bundles.TrustStore.load(trust_path)
        data, detached = bundles.read_bundle(bundle_path)
        verified = bundles.verify(data, trust, detached)
        bundles.check_rollback(verified, trust)
        host = cls(verified, what_if=what_if, limits=limits, clock=clock)
        try:
            host._instance()
        except _Failed as e:
            raise bundles.BundleRefused(f"the verified bundle does not run: {e.failure.detail}") from None
        bundles.record(verified, trust)
        return host

    @staticmethod
    def _seed(_store):
        return (secrets.randbits(64), secrets.randbits(64))

    # ------------------------------------------------------------ calls

    def _instance(self) -> tuple[wasmtime.Store, wc.Instance]:
        if self._live is None:
            store = wasmtime.Store(self._engine)
            store.set_limits(memory_size=self.limits.memory_bytes)
            store.set_fuel(self.limits.fuel_per_decision)
            try:
                instance = self._linker.instantiate(store, self._component)
            except wasmtime.WasmtimeError as e:
                raise _Failed(Failure("internal", f"instantiating the policy component: {e}")) from None
            self._live = (store, instance)
        return self._live

    def _call(self, interface: str, name: str, *args, fuel: Optional[int] = None):
        with self._lock:
            return self._call_locked(interface, name, *args, fuel=fuel)

    def _call_locked(self, interface: str, name: str, *args, fuel: Optional[int] = None):
        store, instance = self._instance()
        exports = instance.get_export_index(store, f"{PACKAGE}/{interface}@{VERSION}")
        func = instance.get_func(store, instance.get_export_index(store, name, exports)) if exports else None
        if func is None:
            raise _Failed(Failure("internal", f"the component exports no {interface}.{name}"))
        store.set_fuel(fuel or self.limits.fuel_per_decision)
        try:
            result = func(store, *args)
            func.post_return(store)
            return result
        except wasmtime.Trap as trap:
            self._live = None  # a trapped instance is never reused
            code = trap.trap_code
            if code == wasmtime.TrapCode.OUT_OF_FUEL:
                raise _Failed(Failure("limit", "fuel")) from None
            if code == wasmtime.TrapCode.STACK_OVERFLOW:
                raise _Failed(Failure("limit", "stack")) from None
            raise _Failed(Failure("trap", trap.message)) from None
        except (wasmtime.WasmtimeError, TypeError, ValueError) as e:
            self._live = None
            # wasmtime-py reports a component call's trap as an error
            # carrying the trap's message (and a backtrace after it).
            message = str(e)
            if "all fuel consumed" in message:
                raise _Failed(Failure("limit", "fuel")) from None
            if "call stack exhausted" in message or "stack overflow" in message:
                raise _Failed(Failure("limit", "stack")) from None
            raise _Failed(Failure("trap", message.split("\n")[0])) from None

    def _out_of_window(self) -> Optional[Failure]:
        why = self.bundle.out_of_window(self._clock())
        return None if why is None else Failure("bundle-expired", why)

    def _time(self, at: Optional[str]) -> tuple[str, str]:
        if at is None:
            return ("host-clock", _now())
        if not self.what_if:
            raise _Failed(
                Failure(
                    "invalid-request",
                    f"the request sets its own evaluation time ({at}); what-if evaluation is not permitted here, the host's clock decides",
                )
            )
        return ("what-if", at)

    # -------------------------------------------------------- decisions

    def decide(self, request: Union[PlacementRequest, dict]) -> Decision:
        """Decides one placement."""
        return self.decide_batch([request])[0]

    def decide_batch(self, requests: Iterable[Union[PlacementRequest, dict]]) -> list[Decision]:
        """Decides placements in one guest call; answers in request order.
        A request that does not parse is denied alone."""
        if isinstance(requests, (str, bytes, dict)):
            raise TypeError("decide_batch takes a list of requests")
        requests = list(requests)
        expired = self._out_of_window()
        if expired is not None:
            return [Decision(False, expired) for _ in requests]
        answers: list[Optional[Decision]] = [None] * len(requests)
        pending: list[tuple[int, tuple[str, str], object]] = []
        for i, request in enumerate(requests):
            try:
                if isinstance(request, dict):
                    request = PlacementRequest.from_json(request)
                elif isinstance(request, PlacementRequest):
                    request = request.checked()
                else:
                    raise ValueError("expected a PlacementRequest or its JSON")
                time = self._time(request.at)
                wit = request.to_wit()
                wit.at = time[1]
                pending.append((i, time, wit))
            except _Failed as e:
                answers[i] = Decision(False, e.failure)
            except Exception as e:  # noqa: BLE001 - any fault reading a request denies it
                answers[i] = Decision.denied("invalid-request", _reading_fault(e))
        if pending:
            try:
                results = self._call("placement", "decide-batch", [w for _, _, w in pending], fuel=self.limits.fuel_per_decision * len(pending))
                if not isinstance(results, list) or len(results) != len(pending):
                    raise _Failed(Failure("internal", "the component answered a different number of requests"))
                decided = [_decision_of(r) for r in results]
            except _Failed as e:
                decided = [Decision(False, e.failure) for _ in pending]
            for (i, time, _), decision in zip(pending, decided):
                decision.evaluated_at = time
                answers[i] = decision
        return [a if a is not None else Decision.denied("internal", "no answer") for a in answers]

    def check_plan(self, plan: Union[DeploymentPlan, dict]) -> PlanResult:
        """Checks a deployment plan: every change and every kept item, then
        the plan-level rules on shares the component computes."""
        expired = self._out_of_window()
        if expired is not None:
            return PlanResult.refused(expired)
        try:
            if isinstance(plan, dict):
                plan = DeploymentPlan.from_json(plan)
            elif isinstance(plan, DeploymentPlan):
                plan = plan.checked()
            else:
                raise ValueError("expected a DeploymentPlan or its JSON")
            time = self._time(plan.at)
            wit = plan.to_wit()
            wit.at = time[1]
            items = len(plan.installed) + len(plan.changes) + 1
            result = self._call("placement", "check-plan", wit, fuel=self.limits.fuel_per_decision * items)
        except _Failed as e:
            return PlanResult.refused(e.failure)
        except Exception as e:  # noqa: BLE001 - any fault reading the plan refuses it
            return PlanResult.refused(Failure("invalid-request", _reading_fault(e)))
        if isinstance(result, wc.Variant):
            return PlanResult.refused(_failure_of(result))
        items = [
            ItemDecision(getattr(i, "equipment-id"), i.operation, _decision_of(i.decision)) for i in result.items
        ]
        verdict = _decision_of(result.plan)
        shares = lambda values: [(s.name, getattr(s, "basis-points")) for s in values]  # noqa: E731
        return PlanResult(
            # Recomputed rather than trusted: every item and the plan rules.
            allowed=bool(result.allowed) and verdict.allowed and all(i.decision.allowed for i in items),
            failure=None,
            items=items,
            plan=verdict,
            access_weight=getattr(result, "access-weight"),
            listed_shares=shares(getattr(result, "listed-shares")),
            vendor_shares=shares(getattr(result, "vendor-shares")),
            evaluated_at=time,
        )

    def authorize(self, request: Union[CedarRequest, dict]) -> Decision:
        """Decides a generic Cedar request (the ``authorizer`` interface)."""
        expired = self._out_of_window()
        if expired is not None:
            return Decision(False, expired)
        try:
            if isinstance(request, dict):
                request = CedarRequest.from_json(request)
            elif isinstance(request, CedarRequest):
                request = request.checked()
            else:
                raise ValueError("expected a CedarRequest or its JSON")
            return _decision_of(self._call("authorizer", "authorize", request.to_wit()))
        except _Failed as e:
            return Decision(False, e.failure)
        except Exception as e:  # noqa: BLE001 - any fault reading the request denies it
            return Decision.denied("invalid-request", _reading_fault(e))

    def info(self) -> dict:
        """The loaded policy set: name, revision, policy ids, digests."""
        result = self._call("metadata", "info")
        if isinstance(result, wc.Variant):
            raise RuntimeError(f"the component has no policy set: {_failure_of(result).detail}")
        return {k: v for k, v in vars(result).items()}
