#!/usr/bin/env bash
# A bounded load run on loopback against `slicegate serve`, with wrk.
#
#   scripts/load-test.sh [DURATION] [CONNECTIONS]      (default 20s, 16)
#
# Installs wrk (Debian package) if it is missing, builds the release binary,
# builds and signs the default library with a throwaway key, starts the
# service, and runs wrk three times against POST /v1/decisions:
#   1. one placement per request, no decision log;
#   2. one placement per request, decision log with fsync per decision;
#   3. a batch of 100 placements per request, no decision log.
# Prints wrk's report (throughput, p50/p75/p90/p99) and any non-2xx count.
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-20s}"
connections="${2:-16}"

if ! command -v wrk >/dev/null; then
    echo "== installing wrk"
    if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get install -y wrk >/dev/null 2>&1 \
        || { $sudo apt-get update >/dev/null && $sudo apt-get install -y wrk >/dev/null; }
fi

echo "== building (release)"
cargo build --release -p slicegate-cli
bin="$PWD/target/release/slicegate"

work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
echo "== building and signing the default library in $work"
"$bin" build policies -o "$work/lib.wasm" --name load-test --no-test >/dev/null
(cd "$work" && "$bin" keygen --id load >/dev/null)
"$bin" sign --key "$work/load.key" "$work/lib.wasm" >/dev/null
public=$(python3 -c "import sys; print(open(sys.argv[1], 'rb').read()[-32:].hex())" "$work/load.pub")
printf 'threshold = 1\n\n[[keys]]\nid = "load"\npublic_key = "%s"\n' "$public" > "$work/trust.toml"

python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
one = json.load(open("host-examples/http-client/placement.json"))
json.dump(one, open(f"{work}/one.json", "w"))
json.dump({"requests": [one] * 100}, open(f"{work}/batch.json", "w"))
PY

start() {
    "$bin" serve --bundle "$work/lib.wasm" --trust "$work/trust.toml" \
        --listen 127.0.0.1:0 --no-reload "$@" > "$work/serve.out" 2> "$work/serve.err" &
    for _ in $(seq 1 600); do
        url=$(sed -n 's/^listening on //p' "$work/serve.out")
        [ -n "$url" ] && return 0
        sleep 0.1
    done
    cat "$work/serve.err"; exit 1
}
stop() { kill %1; wait %1 2>/dev/null || true; }

run() {
    echo "== $1"
    echo "   wrk -t2 -c$connections -d$duration --latency -s scripts/wrk-post.lua $url/v1/decisions  (BODY=$2)"
    # Warm up: compiled instances in the pool.
    BODY="$2" wrk -t2 -c"$connections" -d2s -s scripts/wrk-post.lua "$url/v1/decisions" >/dev/null
    BODY="$2" wrk -t2 -c"$connections" -d"$duration" --latency -s scripts/wrk-post.lua "$url/v1/decisions"
}

start
run "one placement per request, no decision log" "$work/one.json"
run "a batch of 100 placements per request, no decision log" "$work/batch.json"
stop
start --decision-log "$work/decisions.jsonl"
run "one placement per request, decision log (fsync per decision)" "$work/one.json"
stop
"$bin" log verify "$work/decisions.jsonl"
