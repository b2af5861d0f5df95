"""One writer per run directory: an exclusive lock on ``<model_dir>/.lock`` for the process's life.

``fcntl.flock`` on an open file: the operating system releases it when the process ends, crash
and SIGKILL included, so a stale lock never blocks a resume. The lock file holds the holder's
pid and host, which a refused second writer names. Within one process the lock is taken once
per directory (several trainers of one process, as in the tests, share it). Under
MultiWorker only the chief writes the run's files, so only the chief takes it. flock is local
to a machine: on storage shared by several machines it does not exclude the others.
"""

import fcntl
import os
import socket

LOCK_NAME = ".lock"
_HELD = {}  # real path of the run directory -> open file descriptor of this process's lock


class RunLockedError(RuntimeError):
    """Another process is writing to the run directory."""


def lock_path(model_dir):
    return os.path.join(model_dir, LOCK_NAME)


def acquire(model_dir):
    """Take the run directory's lock (once per process); raise if another process holds it."""
    os.makedirs(model_dir, exist_ok=True)
    key = os.path.realpath(model_dir)
    if key in _HELD:
        return
    path = lock_path(model_dir)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(descriptor, 200).decode("utf-8", "replace").strip() or "unknown"
        os.close(descriptor)
        raise RunLockedError(
            f"{model_dir} is being written by another process ({holder}; lock file {path}); "
            f"wait for it to finish, stop it, or use another --model_dir") from None
    os.ftruncate(descriptor, 0)
    os.write(descriptor, f"pid {os.getpid()} on {socket.gethostname()}\n".encode())
    _HELD[key] = descriptor


def release(model_dir):
    """Give the lock back (the process's end does it too)."""
    descriptor = _HELD.pop(os.path.realpath(model_dir), None)
    if descriptor is not None:
        os.close(descriptor)
