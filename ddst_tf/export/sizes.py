"""Sizes of an export: on disk, and compressed as tfmot reports models (zip, deflate).

Dense float formats store pruned weights as zeros, so a sparse generator's SavedModel or .keras
file is as large as a dense one; compressed, the zeros cost little and the difference shows.
"""

import io
import os
import zipfile


def files_of(path):
    """The files of ``path`` (itself, or everything below a directory), sorted."""
    if os.path.isfile(path):
        return [path]
    return sorted(os.path.join(folder, name) for folder, _, names in os.walk(path)
                  for name in names)


def size_bytes(path):
    """Bytes on disk of a file or of all files under a directory."""
    return sum(os.path.getsize(name) for name in files_of(path))


def compressed_bytes(path):
    """Bytes of a zip (deflate, level 9) of the file or directory, in memory."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name in files_of(path):
            archive.write(name, os.path.relpath(name, os.path.dirname(path)))
    return buffer.tell()
