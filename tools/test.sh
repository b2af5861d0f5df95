#!/usr/bin/env bash
# Set up (idempotent) and run the default test suite: pytest (extra args go to pytest,
# e.g. `tools/test.sh -m slow` for the long checks), then the Bazel targets
# (tools/bazel_test.sh; skip with DDST_SKIP_BAZEL=1). Fails if either fails; the pytest
# summary line is repeated last.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup_env.sh
pytest_log=$(mktemp)
trap 'rm -f "$pytest_log"' EXIT
pytest_status=0
.venv/bin/python -m pytest -q -m "${PYTEST_MARKERS:-not slow}" "$@" | tee "$pytest_log" \
  || pytest_status=${PIPESTATUS[0]}
bazel_status=0
if [[ -z "${DDST_SKIP_BAZEL:-}" ]]; then
  bash tools/bazel_test.sh || bazel_status=$?
fi
grep -E '(passed|failed|error|skipped|deselected|no tests ran).* in [0-9.]+s' "$pytest_log" | tail -n 1 || true
if (( pytest_status != 0 )); then exit "$pytest_status"; fi
exit "$bazel_status"
