"""Write small text/JSON outputs atomically: a crash leaves the old file or the new one."""

import json
import os


def write_text(path, text):
    """Write ``text`` to a temporary file beside ``path``, sync it, rename it over ``path``."""
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_json(path, data):
    """``data`` as indented JSON, written atomically (see :func:`write_text`)."""
    write_text(path, json.dumps(data, indent=2) + "\n")
