"""Parse a file once per version of it in this process.

Every ``Nexus`` reads the same prompt and graph files; a scheduler or a server creates
many. Results are keyed by the file's path, modification time, size and inode, so an
edited file is parsed again. Cached values are shared: callers must not mutate them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

_LOCK = threading.Lock()
_CACHE: dict[tuple[str, str], tuple[tuple[int, int, int], Any]] = {}


def parsed(kind: str, path: Path, parse: Callable[[Path], T]) -> T:
    """``parse(path)``, reused while the file is unchanged. Errors are not cached."""
    try:
        st = path.stat()
    except OSError:
        return parse(path)  # let the parser report the missing / unreadable file
    version = (st.st_mtime_ns, st.st_size, st.st_ino)
    key = (kind, str(path.resolve()))
    with _LOCK:
        hit = _CACHE.get(key)
    if hit is not None and hit[0] == version:
        return hit[1]  # type: ignore[no-any-return]
    value = parse(path)
    with _LOCK:
        _CACHE[key] = (version, value)
    return value
