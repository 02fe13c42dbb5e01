"""slicegate-py: verify a bundle, decide with it, or run the cross-host
conformance check against the Rust host's export.

    slicegate-py verify --trust trust.toml bundle.wasm
    slicegate-py decide --trust trust.toml bundle.wasm request.json [--what-if]
    slicegate-py check-plan --trust trust.toml bundle.wasm plan.json [--what-if]
    slicegate-py conformance --trust trust.toml bundle.wasm export.json

Exit status: 0 allowed / accepted / identical; 1 denied / refused /
different; 2 a usage or input error.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time

from . import bundle as bundles
from . import strict, summary
from .host import Host


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="slicegate-py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    for name, help_text in [
        ("verify", "verify a bundle against a trust store (signatures, threshold, windows, revision)"),
        ("decide", "decide one placement request (JSON file, - for stdin)"),
        ("check-plan", "check a deployment plan (JSON file, - for stdin)"),
        ("conformance", "decide every request of a `slicegate test --export` file and compare with the Rust host's answers"),
    ]:
        c = sub.add_parser(name, help=help_text, description=help_text)
        c.add_argument("--trust", required=True, help="the trust store (TOML, the Rust host's format)")
        c.add_argument("bundle", help="the signed bundle (.wasm; a detached signature beside it as <bundle>.sig)")
        if name != "verify":
            c.add_argument("input", help="the JSON input")
        if name in ("decide", "check-plan"):
            c.add_argument("--what-if", action="store_true", help="permit the request's own `at` (else the host's clock decides)")
        c.add_argument("--format", choices=["human", "json"], default="human")
    return p


def _read_json(path: str):
    """JSON read as strictly as the Rust host reads it (a member named twice,
    invalid UTF-8, a lone surrogate or `-0` for a number is refused)."""
    data = sys.stdin.buffer.read() if path == "-" else open(path, "rb").read()
    return strict.loads(data)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.capitalize() for p in rest)


def _plain(value):
    """An answer as the Rust host writes it in JSON: camelCase names,
    `evaluatedAt` as {kind, at}."""
    if dataclasses.is_dataclass(value):
        out = {}
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            if f.name == "evaluated_at" and item is not None:
                item = {"kind": item[0], "at": item[1]}
            out[_camel(f.name)] = _plain(item)
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "verify":
            trust = bundles.TrustStore.load(args.trust)
            data, detached = bundles.read_bundle(args.bundle)
            verified = bundles.verify(data, trust, detached)
            bundles.check_rollback(verified, trust)
            out = {"accepted": True, "name": verified.name, "revision": verified.revision, "sha256": verified.sha256, "signers": verified.signers}
            print(json.dumps(out) if args.format == "json" else f"accepted: {verified.name} revision {verified.revision} ({verified.sha256}), signed by {', '.join(verified.signers)}")
            return 0
        payload = _read_json(args.input)
        if args.command == "conformance":
            return _conformance(Host.load(args.bundle, args.trust, what_if=True), payload, args.format)
        host = Host.load(args.bundle, args.trust, what_if=args.what_if)
        if args.command == "decide":
            answer = host.decide(payload)
        else:
            answer = host.check_plan(payload)
        if args.format == "json":
            print(json.dumps(_plain(answer), indent=2))
        else:
            _print_human(answer)
        return 0 if answer.allowed else 1
    except bundles.BundleRefused as e:
        print(f"refused: {e}", file=sys.stderr)
        return 1
    except (bundles.TrustStoreError, OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def _print_human(answer) -> None:
    print("ALLOW" if answer.allowed else "DENY")
    if answer.failure:
        print(f"  failure: {answer.failure.kind}: {answer.failure.detail}")
    decision = getattr(answer, "plan", answer)
    for p in decision.determining:
        print(f"  {'permit' if p.permit else 'forbid'} {p.policy_id}: {p.reason or ''}")


def _conformance(host: Host, export: dict, fmt: str) -> int:
    cases = export.get("cases") if isinstance(export, dict) else None
    if not isinstance(cases, list) or not cases:
        raise ValueError("the export has no cases")
    differences, micros = [], []
    for case in cases:
        kind, given = case.get("kind"), case.get("input")
        if kind == "placement":
            started = time.perf_counter()
            got = summary.decision(host.decide(given))
            micros.append((time.perf_counter() - started) * 1e6)
        elif kind == "plan":
            got = summary.plan(host.check_plan(given))
        elif kind == "cedar":
            got = summary.decision(host.authorize(given))
        else:
            raise ValueError(f"case `{case.get('name')}`: unknown kind {kind!r}")
        if got != case.get("decision"):
            differences.append({"file": case.get("file"), "name": case.get("name"), "rust": case.get("decision"), "python": got})
    micros.sort()
    median = micros[len(micros) // 2] if micros else 0.0
    report = {"host": "python", "cases": len(cases), "different": differences, "placementMedianMicros": round(median, 1)}
    if fmt == "json":
        print(json.dumps(report, indent=2))
    else:
        for d in differences:
            print(f"DIFFERENT: {d['file']}: {d['name']}\n  rust:   {json.dumps(d['rust'])}\n  python: {json.dumps(d['python'])}")
        print(f"python host: {len(cases) - len(differences)} of {len(cases)} answers identical to the Rust host's; median placement decision {median:.0f} µs")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
