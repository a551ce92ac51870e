"""Keeping the build cache to a size (`asterai cache --prune`): least recently used entries go first.

Every build output is an entry folder (cache.entry_dir: KIND/ab/abcdef...), and a lookup marks it used, so
its folder's modification time is its last use. Pruning removes whole entries, oldest use first, until the
cache holds at most the size asked for. It never removes an entry used in the last hour (a running
session may be about to load it) nor the toolchains (Go's and Zig's caches, npm and crate sets, adapters):
`asterai setup` would have to fetch them again.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

# What rebuilding costs only time: components, machine code, glue, shared interpreters, pip and crate sets.
PRUNABLE = ("components", "cwasm", "glue", "loaded", "shipped", "runners", "python-pip", "rust-crates")
RECENT = 3600  # seconds: entries used this recently stay


@dataclass(frozen=True)
class Entry:
    path: Path
    kind: str
    size: int
    used: float  # the last use, as a timestamp


def _size(folder: Path) -> int:
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:  # removed meanwhile
                pass
    return total


def entries(root: Path) -> list[Entry]:
    """Every prunable entry under the cache folder `root`."""
    found = []
    for kind in PRUNABLE:
        for path in (root / kind).glob("*/*"):
            if path.is_dir():
                found.append(Entry(path, kind, _size(path), path.stat().st_mtime))
    return found


def usage(root: Path) -> dict[str, tuple[int, int]]:
    """Each top-level folder of the cache: (entries, bytes); toolchain folders count as one entry."""
    out = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        count = sum(1 for p in folder.glob("*/*") if p.is_dir()) if folder.name in PRUNABLE else 1
        out[folder.name] = (count, _size(folder))
    return out


def prune(root: Path, keep: int, now: float | None = None) -> tuple[int, int]:
    """Remove least recently used entries until the cache holds at most `keep` bytes (or only recent entries
    are left). (entries removed, bytes freed)."""
    now = time.time() if now is None else now
    total = sum(size for _, size in usage(root).values())
    removed = freed = 0
    for entry in sorted(entries(root), key=lambda e: e.used):
        if total - freed <= keep or now - entry.used < RECENT:
            break
        shutil.rmtree(entry.path, ignore_errors=True)
        removed, freed = removed + 1, freed + entry.size
    return removed, freed
