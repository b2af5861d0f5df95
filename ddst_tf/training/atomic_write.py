"""Write small outputs atomically: a crash leaves the old file or the new one."""

import json
import os


def write_bytes(path, content):
    """Write ``content`` to a temporary file beside ``path``, sync it, rename it over ``path``."""
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(content)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_text(path, text):
    """``text`` (UTF-8), written atomically (see :func:`write_bytes`)."""
    write_bytes(path, text.encode("utf-8"))


def write_json(path, data):
    """``data`` as indented JSON, written atomically (see :func:`write_text`)."""
    write_text(path, json.dumps(data, indent=2) + "\n")
