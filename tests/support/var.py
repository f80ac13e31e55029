"""Copies of a runtime folder (SQLite store and model files) for tests that write to them."""
from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path


def copy_var(source: Path, target: Path) -> Path:
    """Copy a runtime folder (SQLite store and models) so a test can write without touching the session's."""
    target.mkdir(parents=True, exist_ok=True)
    for item in source.iterdir():
        if item.name.startswith("store.sqlite"):
            continue
        if item.is_dir():
            shutil.copytree(item, target / item.name, dirs_exist_ok=True)
        else:
            shutil.copy2(item, target / item.name)
    src = sqlite3.connect(source / "store.sqlite")
    dst = sqlite3.connect(target / "store.sqlite")
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    return target
