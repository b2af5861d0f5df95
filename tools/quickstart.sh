#!/usr/bin/env bash
# The main job: set up, train the quickstart ADAPT run on Fashion-MNIST (offline),
# then write plots and export the EMA generator. Re-running resumes the run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup_env.sh
RUN=${RUN_DIR:-runs/quickstart}
.venv/bin/ddst-train --gin_file=quickstart.gin --model_dir="$RUN" "$@"
.venv/bin/ddst-plot --model_dir="$RUN"
rm -rf "$RUN/export"
.venv/bin/ddst-export --model_dir="$RUN" --output="$RUN/export/saved_model"
echo "Samples: $RUN/samples/latest.png  Plots: $RUN/plots/  SavedModel: $RUN/export/saved_model"
