"""Content-addressed build cache under the user's cache dir (``ASTERAI_CACHE_DIR`` overrides it).

Every entry is written to a temporary name and renamed into place, so an interrupted build never leaves a
half-written entry behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import platformdirs


def cache_dir() -> Path:
    root = os.environ.get("ASTERAI_CACHE_DIR") or platformdirs.user_cache_dir("asterai")
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def content_key(*parts: object) -> str:
    """A stable hash of everything that decides a build's output."""
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:32]


def entry_dir(kind: str, key: str) -> Path:
    """The folder of one cache entry. Looking it up marks it used (prune.py removes the least used first)."""
    path = cache_dir() / kind / key[:2] / key
    try:
        os.utime(path)
    except OSError:  # not made yet
        pass
    return path


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class BuildResult:
    """A component in the cache, and whether this request built it."""

    wasm_path: Path
    built_seconds: float  # 0.0 on a cache hit
    cached: bool
