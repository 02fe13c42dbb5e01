#!/usr/bin/env python3
"""Ask a running `slicegate serve` whether a placement may go ahead.

An orchestrator that is not written in Rust calls the decision service
over HTTP. This is the whole client: standard library only.

    python3 decide.py --url http://127.0.0.1:8080 placement.json
    python3 decide.py --url http://127.0.0.1:8080 placement.json huawei-core.json   # a batch

Prints one line per decision (ALLOW or DENY, the bundle revision that
decided, and the reasons) and exits 0 if every placement is allowed, 2 if
any is denied, 1 if the service could not decide (unreachable, not ready,
or it refused the request as malformed).
"""

import argparse
import json
import sys
import urllib.error
import urllib.request
import uuid


def post(url, body, request_id):
    """POST `body` as JSON; return (HTTP status, parsed answer)."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "X-Request-Id": request_id},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        # 4xx and 5xx answers carry a JSON body saying why.
        return error.code, json.load(error)


def reasons(decision):
    """Why a decision came out as it did: the failure, or the policies."""
    if "failure" in decision:
        failure = decision["failure"]
        return [f"{failure['kind']}: {failure.get('detail', '')}"]
    return [
        f"{'permit' if p['permit'] else 'forbid'} {p['policyId']}: {p.get('reason', '')}"
        for p in decision["determining"]
    ] or ["no policy permits it (default deny)"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="the service")
    parser.add_argument("requests", nargs="+", help="placement request files (JSON)")
    args = parser.parse_args()

    placements = []
    for path in args.requests:
        with open(path) as f:
            placements.append(json.load(f))
    # One request is sent as is; several go in one batch call.
    body = placements[0] if len(placements) == 1 else {"requests": placements}
    request_id = f"http-client-{uuid.uuid4()}"
    try:
        status, answer = post(f"{args.url}/v1/decisions", body, request_id)
    except (urllib.error.URLError, OSError) as error:
        print(f"error: cannot reach {args.url}: {error}", file=sys.stderr)
        return 1

    if "decision" in answer or "decisions" in answer:
        decisions = answer.get("decisions") or [answer["decision"]]
        revision = answer["bundle"]["revision"]
        for path, decision in zip(args.requests, decisions):
            verdict = "ALLOW" if decision["allowed"] else "DENY"
            print(f"{verdict} {path} (bundle revision {revision}, request {answer['requestId']})")
            for reason in reasons(decision):
                print(f"    {reason}")
        if status >= 400:
            print(f"error: {answer['error']['message']}", file=sys.stderr)
        return 0 if all(d["allowed"] for d in decisions) else 2
    # No decision at all: malformed request, not ready, ...
    print(f"error: HTTP {status}: {answer['error']['message']}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
