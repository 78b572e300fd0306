"""A workspace folder: ``nexus.toml`` plus the ``data/`` files described in ``schema``."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from nexus_agents.config import CONFIG_FILE, NexusConfig, load_config
from nexus_agents.data.schema import TABLES, get_table
from nexus_agents.exceptions import ConfigError

if TYPE_CHECKING:
    import duckdb

DATA_DIR = "data"
MEMO_SIZE = 128  # derived results (KPI reports ...) kept per workspace

T = TypeVar("T")
# (mtime_ns, size, inode) of a data file, or None when the file is missing
FileSignature = tuple[int, int, int] | None

# file -> signature, seen once per ``Workspace.pinned()`` block (threads started in it share it)
_PINNED: ContextVar[dict[Path, FileSignature] | None] = ContextVar("nexus_pinned", default=None)


class Workspace:
    """One workspace. ``connect()`` gives a DuckDB connection with a view per table.

    Validated tables are loaded once into an in-memory database kept by the workspace and
    reloaded when their file changes (mtime, size or inode); each ``connect()`` hands out
    a cursor of it, which the caller closes. ``memoized`` caches results derived from the
    data the same way. Both are safe to use from several threads.
    """

    def __init__(self, path: str | Path = ".", config: NexusConfig | None = None) -> None:
        self.path = Path(path)
        self.config = config if config is not None else load_config(self.path)
        self._lock = threading.RLock()
        self._db: duckdb.DuckDBPyConnection | None = None
        self._loaded: dict[str, FileSignature] = {}
        self._memo: OrderedDict[Hashable, Any] = OrderedDict()

    def __repr__(self) -> str:
        return f"Workspace({str(self.path)!r})"

    @property
    def data_dir(self) -> Path:
        return self.path / DATA_DIR

    @property
    def config_file(self) -> Path:
        return self.path / CONFIG_FILE

    @cached_property
    def tz(self) -> ZoneInfo:
        name = self.config.product.timezone
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"{self.config_file}: field 'product.timezone': unknown timezone {name!r}"
            ) from None

    def file_for(self, table: str) -> Path:
        return self.data_dir / get_table(table).file

    def has(self, table: str) -> bool:
        """True when the table's file exists (a missing file means no data)."""
        return self.file_for(table).is_file()

    def present_tables(self) -> list[str]:
        return [name for name in TABLES if self.has(name)]

    def now(self) -> datetime:
        """'Now' as naive workspace time: ``[data] as_of`` when set, else the clock."""
        fixed = self.config.data.as_of
        if fixed is not None:
            return self.local(fixed)
        return datetime.now(self.tz).replace(tzinfo=None)

    def local(self, moment: datetime) -> datetime:
        """Naive workspace time for ``moment`` (naive values are taken as local already)."""
        if moment.tzinfo is None:
            return moment
        return moment.astimezone(self.tz).replace(tzinfo=None)

    def signature(self, table: str) -> FileSignature:
        """What identifies the current content of the table's file (None when missing).

        Inside ``pinned()`` each file is looked at once and the answer reused.
        """
        path = self.file_for(table)
        pins = _PINNED.get()
        if pins is None:
            return _stat(path)
        if path not in pins:
            pins[path] = _stat(path)
        return pins[path]

    @contextmanager
    def pinned(self) -> Iterator[None]:
        """One view of the data files for the block (e.g. one facts build): their
        signatures are read once, not on every query. Edits made to the files while the
        block runs are picked up by the next use after it."""
        token = _PINNED.set({})
        try:
            yield
        finally:
            _PINNED.reset(token)

    def data_signature(self) -> tuple[FileSignature, ...]:
        """The signature of every table's file, in schema order."""
        return tuple(self.signature(name) for name in TABLES)

    def connect(self, tables: Iterable[str] | None = None) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection (a cursor of the workspace's database) with one validated
        view per table.

        ``tables`` limits loading to those names (default: all). A table whose file is
        missing is an empty view, so queries see "no data" instead of failing. Raises
        ``DataError`` for the first malformed file. Close the connection when done.
        """
        names = list(TABLES) if tables is None else [get_table(t).name for t in tables]
        with self._lock:
            db = self._database()
            for name in names:
                self._ensure_loaded(db, name)
            cursor = db.cursor()
        try:
            cursor.execute(f"SET TimeZone = '{self.tz.key}'")
        except BaseException:
            cursor.close()
            raise
        return cursor

    def memoized(self, key: Hashable, compute: Callable[[], T]) -> T:
        """``compute()``, cached under ``key`` until any data file changes.

        For pure functions of the workspace data and ``key``; the cached object is shared,
        so callers must not mutate it.
        """
        full = (key, self.data_signature())
        with self._lock:
            if full in self._memo:
                self._memo.move_to_end(full)
                return self._memo[full]  # type: ignore[no-any-return]
        value = compute()
        with self._lock:
            self._memo[full] = value
            while len(self._memo) > MEMO_SIZE:
                self._memo.popitem(last=False)
        return value

    def clear_cache(self) -> None:
        """Drop the loaded tables and memoized results (the next use reloads them)."""
        with self._lock:
            if self._db is not None:
                self._db.close()
            self._db = None
            self._loaded.clear()
            self._memo.clear()

    def _database(self) -> duckdb.DuckDBPyConnection:
        if self._db is None:
            import duckdb

            db = duckdb.connect(":memory:")
            try:
                db.execute(f"SET TimeZone = '{self.tz.key}'")
            except BaseException:
                db.close()
                raise
            self._db = db
        return self._db

    def _ensure_loaded(self, db: duckdb.DuckDBPyConnection, name: str) -> None:
        from nexus_agents.data.loader import create_empty, load_table, q

        spec = TABLES[name]
        signature = self.signature(name)
        if name in self._loaded and self._loaded[name] == signature:
            return
        self._loaded.pop(name, None)
        try:
            if signature is None:
                create_empty(db, spec)
            else:
                load_table(
                    db, spec, self.data_dir / spec.file, self.tz, shown=f"{DATA_DIR}/{spec.file}"
                )
        except BaseException:
            # a half-loaded table must not be visible to later cursors
            db.execute(f"DROP VIEW IF EXISTS {q(spec.name)}")
            raise
        if signature == _stat(self.data_dir / spec.file):  # not rewritten while being read
            self._loaded[name] = signature


def _stat(path: Path) -> FileSignature:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)
