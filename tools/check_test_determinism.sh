#!/usr/bin/env bash
# Look for tests whose outcome depends on luck or on test order: run the whole pytest
# suite (unit and integration tests, on DDST_PYTEST_WORKERS processes) under RUNS
# (default 3) different seeds, each with its own shuffled order, then under one more seed
# every test module in its own pytest process, and the Bazel targets. Seeds come
# from SEEDS="s1 s2 ..." or are drawn at random; every seed is printed so that a failure
# can be replayed with `pytest --randomly-seed=<seed>`. Exits non-zero if any run failed.
set -uo pipefail
cd "$(dirname "$0")/.."
bash tools/setup_env.sh || exit 1
read -r -a seeds <<< "${SEEDS:-}"
while (( ${#seeds[@]} < ${RUNS:-3} + 1 )); do seeds+=("$(( (RANDOM << 15) | RANDOM ))"); done
failed=()
for seed in "${seeds[@]:0:${#seeds[@]}-1}"; do
  echo "== pytest --randomly-seed=$seed"
  .venv/bin/python -m pytest -q -m "not slow" -p no:cacheprovider --randomly-seed="$seed" \
    -n "${DDST_PYTEST_WORKERS:-2}" --dist loadfile "$@" \
    | tail -n 15 || failed+=("pytest seed $seed")
done
last_seed=${seeds[-1]}
echo "== each test module in its own process, --randomly-seed=$last_seed"
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
# pytest exits 5 when a module has no test left after `-m "not slow"` (all slow): not a failure.
ls tests/test_*.py | xargs -P "${DDST_PYTEST_WORKERS:-2}" -I{} sh -c '
  log="$3/$(basename "$2").log"
  .venv/bin/python -m pytest -q -m "not slow" -p no:cacheprovider --randomly-seed="$1" "$2" \
    > "$log" 2>&1
  status=$?
  [ "$status" -eq 0 ] || [ "$status" -eq 5 ] || { tail -n 20 "$log"; echo "FAILED: $2"; exit 1; }
  ' _ "$last_seed" {} "$logs" || failed+=("per-module processes seed $last_seed")
echo "== bazel test, --randomly-seed=$last_seed"
bash tools/bazel_test.sh --test_arg=--randomly-seed="$last_seed" | tail -n 40 \
  || failed+=("bazel seed $last_seed")
if (( ${#failed[@]} )); then
  echo "check_test_determinism: FAILED under: ${failed[*]}"
  exit 1
fi
echo "check_test_determinism: all runs passed (seeds ${seeds[*]})"
