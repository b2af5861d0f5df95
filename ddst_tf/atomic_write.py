"""Write files atomically: a crash or a full disk leaves the old file or the new one, never half.

Each write goes to a unique temporary name beside the target (``.<name>.<random>.partial<ext>``,
so two writers never share one and a leftover is recognisable) and is renamed over the target
once complete and synced. Errors name the file being written.
"""

import contextlib
import fnmatch
import json
import os
import tempfile

PARTIAL_MARK = ".partial"


@contextlib.contextmanager
def replacing(path):
    """Yield a fresh temporary path beside ``path`` with its suffix; rename it over ``path`` on success."""
    directory = os.path.dirname(path) or "."
    name = os.path.basename(path)
    suffix = os.path.splitext(name)[1]
    try:
        os.makedirs(directory, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.",
                                       suffix=PARTIAL_MARK + suffix)
        os.close(handle)
    except OSError as error:
        raise _naming(error, path) from error
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, path)
    except OSError as error:
        _remove_quietly(tmp)
        raise _naming(error, path) from error
    except BaseException:
        _remove_quietly(tmp)
        raise


def write_bytes(path, content):
    """``content`` (bytes) to ``path``, atomically."""
    with replacing(path) as tmp, open(tmp, "wb") as handle:
        handle.write(content)


def write_text(path, text):
    """``text`` (UTF-8) to ``path``, atomically."""
    write_bytes(path, text.encode("utf-8"))


def write_json(path, data):
    """``data`` as indented JSON to ``path``, atomically."""
    write_text(path, json.dumps(data, indent=2) + "\n")


def is_partial(name):
    """Whether a file name is a temporary file of :func:`replacing`."""
    return fnmatch.fnmatch(name, f".*.*{PARTIAL_MARK}*")


def _fsync(path):
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def _remove_quietly(path):
    with contextlib.suppress(OSError):
        os.remove(path)


def _naming(error, path):
    """``error`` re-raised with the target file named (e.g. a full disk's bare [Errno 28])."""
    if error.filename is not None and path in str(error.filename):
        return error
    if error.errno is None:
        return OSError(f"{error} while writing {path}")
    return type(error)(error.errno, f"{error.strerror} while writing {path}")
