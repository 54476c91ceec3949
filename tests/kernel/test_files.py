"""Personal data on disk is for the platform's user only: the data directory 0700, its files 0600."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from fangkong.kernel.files import open_private, private_dir, private_file

FANGKONG = Path(sys.executable).with_name("fangkong")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_keeps_the_data_directory_and_database_private(tmp_path):
    data = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FANGKONG_")}
    env.update(FANGKONG_DATA_DIR=str(data), LANG="en_US.UTF-8")
    old = os.umask(0o022)  # the common default that made the directory 0755 and the database 0644
    try:
        done = subprocess.run([str(FANGKONG), "init"], env=env, capture_output=True, text=True, timeout=600)
    finally:
        os.umask(old)
    assert done.returncode == 0, done.stderr
    assert _mode(data) == 0o700
    assert _mode(data / "fangkong.db") == 0o600
    assert _mode(data / "secret.key") == 0o600
    for extra in data.glob("fangkong.db-*"):  # the WAL files follow the database's mode
        assert _mode(extra) == 0o600, extra


def test_private_helpers_tighten_what_exists(tmp_path):
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o755)
    os.chmod(loose, 0o755)
    private_dir(loose)
    assert _mode(loose) == 0o700
    f = loose / "export.csv"
    f.write_text("kept")
    os.chmod(f, 0o644)
    private_file(f)
    assert _mode(f) == 0o600 and f.read_text() == "kept"
    with open_private(loose / "new.csv") as fh:
        fh.write("x")
    assert _mode(loose / "new.csv") == 0o600
