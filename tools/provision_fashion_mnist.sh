#!/usr/bin/env bash
# Make keras.datasets.fashion_mnist.load_data() (and make_dataset('fashion_mnist')) work offline:
# link the four Fashion-MNIST files of the Debian package dataset-fashion-mnist into the Keras cache.
# Idempotent: does nothing when the cache already holds the files.
set -euo pipefail

FILES=(train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz)
SOURCE_DIR=/usr/share/datasets/fashion-mnist
TARGET_DIR="${KERAS_HOME:-$HOME/.keras}/datasets/fashion-mnist"

all_present() {
  local dir=$1 name
  for name in "${FILES[@]}"; do
    [[ -e "$dir/$name" ]] || return 1
  done
}

if all_present "$TARGET_DIR"; then
  echo "Fashion-MNIST already provisioned in $TARGET_DIR"
  exit 0
fi

if ! all_present "$SOURCE_DIR"; then
  SUDO=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "need root (or sudo) to apt-get install dataset-fashion-mnist" >&2; exit 1; }
    SUDO=(sudo)
  fi
  "${SUDO[@]}" apt-get update
  "${SUDO[@]}" apt-get install -y dataset-fashion-mnist
  all_present "$SOURCE_DIR" || { echo "dataset-fashion-mnist installed but files are not in $SOURCE_DIR" >&2; exit 1; }
fi

mkdir -p "$TARGET_DIR"
for name in "${FILES[@]}"; do
  [[ -e "$TARGET_DIR/$name" ]] || ln -sf "$SOURCE_DIR/$name" "$TARGET_DIR/$name"
done
echo "Fashion-MNIST linked from $SOURCE_DIR into $TARGET_DIR"
