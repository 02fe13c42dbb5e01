#!/usr/bin/env bash
# The cross-host conformance run: one signed bundle, embedded by the Rust,
# Python and Node hosts, must give identical decisions and determining
# policies on every case of the default library and every example plan and
# placement; a tampered copy must be refused by each host before anything
# is compiled; the Go client asks the decision service the same question
# through both of its APIs. Prints each host's median time per placement
# decision (one run, this machine).
#
#   scripts/cross-host.sh            # uses target/debug/slicegate (SLICEGATE=… for another)
#
# Installs what it runs when missing: the hosts' packages from PyPI and npm
# (into target/cross-host/venv and host-examples/node/node_modules) and Go
# (scripts/install-go.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
sg="${SLICEGATE:-$root/target/debug/slicegate}"
work="$root/target/cross-host"
[ -x "$sg" ] || { echo "error: $sg is not built (cargo build -p slicegate-cli)" >&2; exit 1; }
rm -rf "$work"
mkdir -p "$work"

echo "== one signed bundle (built and signed by the Rust CLI)"
"$sg" build policies -o "$work/unsigned.wasm" --no-test --revision 3 \
  --created-at 2026-01-01T00:00:00Z >/dev/null
"$sg" keygen --id cross-host --out-dir "$work/keys" >/dev/null
cp "$work/unsigned.wasm" "$work/bundle.wasm"
"$sg" sign --key "$work/keys/cross-host.key" "$work/bundle.wasm" >/dev/null
public=$(od -An -tx1 -v -j1 "$work/keys/cross-host.pub" | tr -d ' \n')
printf 'threshold = 1\n[[keys]]\nid = "cross-host"\npublic_key = "%s"\n' "$public" > "$work/trust.toml"
"$sg" verify --trust "$work/trust.toml" "$work/bundle.wasm"

echo "== the Rust host decides every case and example (slicegate test --export)"
"$sg" test "$work/bundle.wasm" --cases policies --export "$work/export.json" >/dev/null

echo "== the Python host (host-examples/python, installed with pip)"
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check "$root/host-examples/python"
export SLICEGATE_TEST_BUNDLE="$work/bundle.wasm" SLICEGATE_TEST_UNSIGNED="$work/unsigned.wasm" \
  SLICEGATE_TEST_TRUST="$work/trust.toml" SLICEGATE_TEST_KEY="$work/keys/cross-host.key"
"$work/venv/bin/slicegate-py" conformance --trust "$work/trust.toml" "$work/bundle.wasm" \
  "$work/export.json" --format json > "$work/python.json" \
  || { cat "$work/python.json"; echo "error: the Python host answered differently" >&2; exit 1; }
(cd host-examples/python && "$work/venv/bin/python" -m unittest discover -s tests)

echo "== the Node host (host-examples/node, installed with npm)"
(cd host-examples/node && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
node host-examples/node/src/cli.mjs conformance --trust "$work/trust.toml" "$work/bundle.wasm" \
  "$work/export.json" --format json > "$work/node.json" \
  || { cat "$work/node.json"; echo "error: the Node host answered differently" >&2; exit 1; }
(cd host-examples/node && npm test --silent)

echo "== a tampered bundle is refused by every host before it is compiled"
cp "$work/bundle.wasm" "$work/tampered.wasm"
size=$(stat -c %s "$work/tampered.wasm")
python3 - "$work/tampered.wasm" "$size" <<'PY'
import sys
path, size = sys.argv[1], int(sys.argv[2])
data = bytearray(open(path, "rb").read())
data[size // 2] ^= 0x01
open(path, "wb").write(data)
PY
refused() {
  local host=$1; shift
  if "$@" >"$work/$host-tampered.out" 2>&1; then
    cat "$work/$host-tampered.out"; echo "error: the $host host accepted a tampered bundle" >&2; exit 1
  fi
  grep -q "changed after it was signed" "$work/$host-tampered.out" \
    || { cat "$work/$host-tampered.out"; echo "error: the $host host refused for another reason" >&2; exit 1; }
  echo "$host: refused ($(grep -o 'changed after it was signed[^.]*' "$work/$host-tampered.out" | head -1))"
}
refused rust "$sg" verify --trust "$work/trust.toml" "$work/tampered.wasm"
refused python "$work/venv/bin/slicegate-py" verify --trust "$work/trust.toml" "$work/tampered.wasm"
refused node node host-examples/node/src/cli.mjs verify --trust "$work/trust.toml" "$work/tampered.wasm"

echo "== the Go client asks the decision service (/v1/decisions and AuthZEN)"
scripts/install-go.sh
(cd host-examples/go && go vet . && go build -o "$work/go-client" .)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$sg" serve --bundle "$work/bundle.wasm" --trust "$work/trust.toml" --listen "127.0.0.1:$port" \
  --permit-what-if --no-reload >"$work/serve.log" 2>&1 &
serve=$!
trap 'kill $serve 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
"$work/go-client" -url "http://127.0.0.1:$port" host-examples/http-client/placement.json
status=0
"$work/go-client" -url "http://127.0.0.1:$port" host-examples/http-client/huawei-core.json || status=$?
[ "$status" = 2 ] || { echo "error: the Go client did not report the Huawei core placement as denied (exit $status)" >&2; exit 1; }

echo "== identical answers, and the time per placement decision (median, this machine)"
python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
export = json.load(open(f"{work}/export.json"))
rows = [("Rust (wasmtime, slicegate test)", len(export["cases"]), 0, export["placementMedianMicros"])]
for host in ("python", "node"):
    r = json.load(open(f"{work}/{host}.json"))
    rows.append((f"{host.capitalize()} ({'wasmtime-py' if host == 'python' else 'jco + V8'})", r["cases"], len(r["different"]), r["placementMedianMicros"]))
print(f"| host | cases | different | median µs per placement |")
print(f"|---|---|---|---|")
for name, cases, different, micros in rows:
    print(f"| {name} | {cases} | {different} | {micros:.0f} |")
PY
