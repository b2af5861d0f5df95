#!/bin/sh
# Bazel's Python interpreter for this repo: <repo>/.venv/bin/python3, or the venv in
# $DDST_VENV (absolute, or relative to the repo) when Bazel passes it (--test_env=DDST_VENV).
# $0 is a runfiles symlink; resolve it back to the source tree to find the repo.
repo=$(cd "$(dirname "$(readlink -f "$0")")/../../.." && pwd)
venv=${DDST_VENV:-.venv}
case "$venv" in
  /*) ;;
  *) venv="$repo/$venv" ;;
esac
if [ ! -x "$venv/bin/python3" ]; then
  echo "venv_python3.sh: no interpreter at $venv/bin/python3; run tools/setup_env.sh first" >&2
  exit 127
fi
exec "$venv/bin/python3" "$@"
