#!/usr/bin/env bash
# The Bazel half of the test suite: install Debian's bazel-bootstrap when Bazel is missing,
# check that every tests/test_*.py is a Bazel target or listed as pytest-only in tests/BUILD,
# then run `bazel --batch test //... --nocache_test_results` with the venv python toolchain
# (third_party/bazel/python). Ends with "bazel: N passed, M failed in S s"; exits non-zero
# when a target fails to build or a test fails. Extra args go to `bazel test`.
set -euo pipefail
cd "$(dirname "$0")/.."

install_bazel() {
  if ! command -v apt-get >/dev/null; then
    echo "bazel_test.sh: SKIPPED: bazel is not installed and apt-get is unavailable" \
         "(install Debian's bazel-bootstrap or Bazel 4.2 to run the Bazel tests)" >&2
    exit 0
  fi
  local sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "bazel_test.sh: need root (or sudo) to apt-get install bazel-bootstrap" >&2; exit 1; }
    sudo=(sudo)
  fi
  echo "bazel_test.sh: installing bazel-bootstrap with apt-get"
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bazel-bootstrap >/dev/null
}

check_test_modules_listed() {
  local module missing=()
  for module in tests/test_*.py; do
    module=$(basename "$module" .py)
    grep -q "\"$module\(\.py\)\?\"" tests/BUILD || missing+=("$module")
  done
  if (( ${#missing[@]} )); then
    echo "bazel_test.sh: tests/BUILD lists neither a target nor a pytest-only entry for: ${missing[*]}" >&2
    echo "  add it to the modules of a pytest_test target (and its imports to deps) or to :pytest_only_modules" >&2
    exit 1
  fi
  # A pytest-only module runs only in tools/test.sh's pytest part, which selects `integration`:
  # its module-level pytestmark must carry that marker.
  for module in $(sed -n '/name = "pytest_only_modules"/,/]/s/.*"\(test_[a-z0-9_]*\)\.py".*/\1/p' tests/BUILD); do
    sed -n '/^pytestmark = /,/^$/p' "tests/$module.py" | grep -q "pytest.mark.integration" \
      || missing+=("$module")
  done
  if (( ${#missing[@]} )); then
    echo "bazel_test.sh: pytest-only modules without pytestmark = pytest.mark.integration (no run would select them): ${missing[*]}" >&2
    exit 1
  fi
}

command -v bazel >/dev/null || install_bazel
check_test_modules_listed

flags=(--color=no --curses=no --noshow_progress --nocache_test_results)
[[ -n "${DDST_VENV:-}" ]] && flags+=(--test_env=DDST_VENV)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
start=$SECONDS
status=0
bazel --batch test //... "${flags[@]}" "$@" 2>&1 | tee "$log" || status=${PIPESTATUS[0]}
passed=$(grep -cE '^//\S+ +(\(cached\) )?PASSED' "$log" || true)
failed=$(grep -cE '^//\S+ +(FAILED|TIMEOUT|FLAKY|INCOMPLETE|REMOTE FAILURE|FAILED TO BUILD|NO STATUS)' "$log" || true)
echo "bazel: $passed passed, $failed failed in $((SECONDS - start)) s (bazel exit code $status)"
exit "$status"
