"""`asterai cache [--prune --keep SIZE]`: what the build cache holds, and its least recently used entries
removed until it fits (build/prune.py)."""

from __future__ import annotations

import os
import time

import pytest

from asterai_kernel import cli
from asterai_kernel.build import cache

pytestmark = pytest.mark.no_toolchain

DAY = 24 * 3600


def _entry(kind: str, key: str, size: int, age: float):
    path = cache.entry_dir(kind, key)
    path.mkdir(parents=True)
    (path / "component.wasm").write_bytes(b"\0" * size)
    when = time.time() - age
    os.utime(path, (when, when))
    return path


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.setenv("ASTERAI_CACHE_DIR", str(tmp_path))
    return tmp_path


def test_prune_removes_the_least_recently_used_first_and_spares_recent_entries_and_toolchains(root, capsys):
    old = _entry("components", "aa" + "0" * 30, 4000, 30 * DAY)
    older = _entry("cwasm", "bb" + "0" * 30, 4000, 40 * DAY)
    newer = _entry("cwasm", "cc" + "0" * 30, 4000, 2 * DAY)
    recent = _entry("components", "dd" + "0" * 30, 4000, 60)  # used a minute ago: a session may load it
    (root / "go").mkdir()
    (root / "go" / "std.a").write_bytes(b"\0" * 4000)
    assert cli.main(["cache", "--prune", "--keep", "12000"]) == 0
    assert not older.exists() and not old.exists()  # 20000 bytes, the two oldest out: 12000 left
    assert newer.exists() and recent.exists() and (root / "go" / "std.a").exists()
    out = capsys.readouterr().out
    assert "Removed 2 cache entries (8.0 kB), least recently used first." in out
    assert "components" in out and "1 entries" in out and "kept (a toolchain" in out


def test_prune_never_removes_an_entry_used_in_the_last_hour(root, capsys):
    recent = _entry("components", "ee" + "0" * 30, 4000, 10)
    assert cli.main(["cache", "--prune", "--keep", "0"]) == 0
    assert recent.exists()
    assert "Removed 0 cache entries" in capsys.readouterr().out


def test_a_lookup_marks_an_entry_used(root):
    path = _entry("cwasm", "ff" + "0" * 30, 10, 30 * DAY)
    assert cache.entry_dir("cwasm", "ff" + "0" * 30) == path
    assert time.time() - path.stat().st_mtime < 3600


def test_a_bad_size_is_named(root, capsys):
    assert cli.main(["cache", "--prune", "--keep", "lots"]) == 2
    assert "--keep 'lots': write a size such as 64MiB, 1GiB or 500MB" in capsys.readouterr().err
