"""Where Keras keeps downloaded datasets, read at call time so a changed KERAS_HOME is honoured."""

import os


def keras_home():
    """`$KERAS_HOME`, or `~/.keras` when it is unset (Keras' own default)."""
    return os.path.expanduser(os.environ.get("KERAS_HOME") or os.path.join("~", ".keras"))


def keras_datasets_dir(*parts):
    """A path under `<keras_home>/datasets/`."""
    return os.path.join(keras_home(), "datasets", *parts)
