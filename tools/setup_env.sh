#!/usr/bin/env bash
# Idempotent set-up on a fresh machine: virtual environment with the pinned
# dependencies, ddst_tf installed editable, and the offline Fashion-MNIST cache.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${DDST_VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
  python3.11 -m venv "$VENV" 2>/dev/null || python3 -m venv "$VENV"
fi
stamp="$VENV/.ddst_requirements.sha256"
want=$(cat requirements.txt requirements-runtime.txt setup.py | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r requirements.txt -e . \
    2> >(grep -v "^WARNING: Location" >&2)
  echo "$want" > "$stamp"
fi
bash tools/provision_fashion_mnist.sh
