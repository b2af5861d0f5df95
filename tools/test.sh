#!/usr/bin/env bash
# Set up (idempotent) and run the default test suite, each test once: pytest runs the tests
# marked `integration` (end-to-end runs, console scripts, extra TF processes) on
# DDST_PYTEST_WORKERS (default 2) processes, one test module per process, while Bazel runs
# the unit tests, one target per part of the library (tools/bazel_test.sh). With
# DDST_SKIP_BAZEL=1, or where Bazel can neither be found nor installed, pytest runs all of them. Extra args go to
# pytest (e.g. `PYTEST_MARKERS=slow DDST_SKIP_BAZEL=1 tools/test.sh` for the long checks).
# Fails if either fails; the pytest summary line is repeated last.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup_env.sh
bazel_runs=1
if [[ -n "${DDST_SKIP_BAZEL:-}" ]] || ! { command -v bazel || command -v apt-get; } >/dev/null; then
  bazel_runs=0
fi
if (( bazel_runs )); then markers=${PYTEST_MARKERS:-integration and not slow}
else markers=${PYTEST_MARKERS:-not slow}; fi
workers=${DDST_PYTEST_WORKERS:-2}
parallel=()
(( workers > 1 )) && parallel=(-n "$workers" --dist loadfile)
pytest_log=$(mktemp)
bazel_log=$(mktemp)
trap 'rm -f "$pytest_log" "$bazel_log"' EXIT
start=$SECONDS
# Bazel runs beside pytest, at low priority: its targets are pure CPU work that fills the
# time pytest's processes wait (for subprocesses to start, be killed, take a lock) without
# slowing them. Its output follows pytest's.
bazel_pid=
if (( bazel_runs )); then
  nice -n 10 bash tools/bazel_test.sh > "$bazel_log" 2>&1 &
  bazel_pid=$!
fi
pytest_status=0
.venv/bin/python -m pytest -q -m "$markers" "${parallel[@]}" "$@" | tee "$pytest_log" \
  || pytest_status=${PIPESTATUS[0]}
bazel_status=0
if [[ -n "$bazel_pid" ]]; then
  wait "$bazel_pid" || bazel_status=$?
  cat "$bazel_log"
fi
echo "tools/test.sh: pytest (-m '$markers') and $( ((bazel_runs)) && echo Bazel || echo 'no Bazel') in $((SECONDS - start)) s"
grep -E '(passed|failed|error|skipped|deselected|no tests ran).* in [0-9.]+s' "$pytest_log" | tail -n 1 || true
if (( pytest_status != 0 )); then exit "$pytest_status"; fi
exit "$bazel_status"
