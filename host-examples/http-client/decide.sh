#!/bin/sh
# The same question with curl and jq-free shell: POST a placement request
# file to a running `slicegate serve` and print the answer.
#
#   ./decide.sh placement.json                         # http://127.0.0.1:8080
#   SLICEGATE_URL=http://10.0.0.5:8080 ./decide.sh placement.json
#
# Exit status: 0 allowed, 2 denied, 1 no decision (unreachable, not ready,
# malformed request).
set -eu
url="${SLICEGATE_URL:-http://127.0.0.1:8080}"
file="${1:?usage: decide.sh REQUEST.json}"

answer=$(curl --silent --show-error --max-time 30 \
    --header 'Content-Type: application/json' \
    --header "X-Request-Id: decide-sh-$$" \
    --data-binary "@$file" \
    --write-out '\n%{http_code}' \
    "$url/v1/decisions") || { echo "error: cannot reach $url" >&2; exit 1; }
status=$(printf '%s\n' "$answer" | tail -n 1)
body=$(printf '%s\n' "$answer" | sed '$d')
printf '%s\n' "$body"

case "$status" in
    200|422) ;;
    *) echo "error: HTTP $status" >&2; exit 1 ;;
esac
# `allowed` is the only field to enforce.
case "$body" in
    *'"allowed":true'*) exit 0 ;;
    *) exit 2 ;;
esac
