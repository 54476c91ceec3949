"""Files that hold personal data (个人信息文件): directories 0700, files 0600, whatever the umask.

The data directory holds the secret key, the SQLite database (with its -wal and -shm files, which
SQLite creates with the database file's mode) and exports; none of it is for other local users.
"""

from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create `path` (and parents) if missing; the directory itself ends up 0700."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    os.chmod(path, DIR_MODE)  # mkdir's mode is filtered by the umask and ignored for an existing dir
    return path


def private_file(path: Path) -> Path:
    """Create `path` empty if missing; either way it ends up 0600 (an existing file's content is kept)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    os.close(fd)
    os.chmod(path, FILE_MODE)
    return path


def open_private(path: Path, mode: str = "w", **kwargs: object):  # type: ignore[no-untyped-def]
    """`open()` for a new file of personal data (an export): created 0600 before anything is written."""
    private_file(path)
    return open(path, mode, **kwargs)
