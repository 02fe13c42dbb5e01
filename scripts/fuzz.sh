#!/usr/bin/env bash
# Longer property-based fuzzing than CI's fixed budget: every parser, the
# decision path and the differential against native cedar-policy
# (tooling/tests/fuzz/). A failing input is shrunk and added to
# tooling/tests/fuzz.proptest-regressions: commit it, it is replayed first on
# every later run.
#
#   scripts/fuzz.sh            # 5 000 cases per property
#   scripts/fuzz.sh 50000      # more
set -euo pipefail
cd "$(dirname "$0")/.."
cases="${1:-5000}"
echo "fuzzing with ${cases} cases per property ..."
SLICEGATE_FUZZ_CASES="$cases" cargo test -p slicegate-tooling --test fuzz -- --nocapture
