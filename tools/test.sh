#!/usr/bin/env bash
# Set up (idempotent) and run the default test suite; extra args go to pytest
# (e.g. `tools/test.sh -m slow` for the long checks).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup_env.sh
exec .venv/bin/python -m pytest -q -m "${PYTEST_MARKERS:-not slow}" "$@"
