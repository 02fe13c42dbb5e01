#!/usr/bin/env bash
# Installs the cvc5 SMT solver that `slicegate prove` and `slicegate diff`
# run (cedar-policy-symcc drives it as a process), from the system's
# packages, when it is not already on PATH or named by $CVC5.
set -euo pipefail
if [ -n "${CVC5:-}" ] && [ -x "$CVC5" ]; then
  exit 0
fi
if command -v cvc5 >/dev/null; then
  exit 0
fi
sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
echo "installing cvc5 (apt-get install cvc5) …" >&2
$sudo apt-get install -y cvc5 >/dev/null 2>&1 \
  || { $sudo apt-get update >/dev/null && $sudo apt-get install -y cvc5 >/dev/null; }
cvc5 --version | head -1 >&2
