"""A workspace folder: ``nexus.toml`` plus the ``data/`` files described in ``schema``."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager, suppress
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
CACHE_FILE = ".nexus/data-cache.duckdb"  # validated tables kept between processes
_CACHE_ALIAS = "nexus_data_cache"
_CACHE_FORMAT = 1
MEMO_SIZE = 128  # derived results (KPI reports ...) kept per workspace

T = TypeVar("T")
# (mtime_ns, size, inode) of a data file, or None when the file is missing
FileSignature = tuple[int, int, int] | None

# file -> signature (and a workspace's whole data signature), seen once per
# ``Workspace.pinned()`` block (threads started in it share it)
_PINNED: ContextVar[dict[Hashable, Any] | None] = ContextVar("nexus_pinned", default=None)
# DuckDB's file lock is per process: two databases of one process must not write the
# cache file at the same time, so every use of it in this process goes through this lock
_CACHE_LOCK = threading.Lock()
_ALL_FILES = "all data files"  # pinned key of a workspace's whole data signature


class Workspace:
    """One workspace. ``connect()`` gives a DuckDB connection with a view per table.

    Validated tables are loaded once into an in-memory database kept by the workspace and
    reloaded when their file changes (mtime, size or inode); each ``connect()`` hands out
    a cursor of it, which the caller closes. Validated tables are also kept in
    ``.nexus/data-cache.duckdb`` under the content hash of their file, so a new process
    reads an unchanged file from there instead of parsing and checking it again. ``memoized`` caches results derived from the
    data the same way. Both are safe to use from several threads.
    """

    def __init__(self, path: str | Path = ".", config: NexusConfig | None = None) -> None:
        self.path = Path(path)
        self.config = config if config is not None else load_config(self.path)
        self._lock = threading.RLock()
        self._db: duckdb.DuckDBPyConnection | None = None
        self._loaded: dict[str, FileSignature] = {}
        self._memo: OrderedDict[Hashable, Any] = OrderedDict()
        self._files: dict[str, Path] = {}
        self._computing: dict[Hashable, threading.Event] = {}

    def __repr__(self) -> str:
        return f"Workspace({str(self.path)!r})"

    @property
    def data_dir(self) -> Path:
        return self.path / DATA_DIR

    @property
    def cache_file(self) -> Path:
        return self.path / CACHE_FILE

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
        found = self._files.get(table)
        if found is None:
            found = self._files[table] = self.data_dir / get_table(table).file
        return found

    def has(self, table: str) -> bool:
        """True when the table's file exists (a missing file means no data)."""
        if _PINNED.get() is not None:
            return self.signature(table) is not None
        return self.file_for(table).is_file()

    def present_tables(self) -> list[str]:
        return [name for name in TABLES if self.has(name)]

    @property
    def loaded(self) -> bool:
        """Whether any table has been loaded into memory in this process."""
        return bool(self._loaded)

    def prefetch(self) -> None:
        """Load every present table now (from the data cache when its file is unchanged),
        so a later ``connect()`` finds it in memory. Raises like ``connect()``."""
        self.connect(self.present_tables()).close()

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
        pins = _PINNED.get()
        if pins is None:
            return tuple(self.signature(name) for name in TABLES)
        key = (self.path, _ALL_FILES)
        found: tuple[FileSignature, ...] | None = pins.get(key)
        if found is None:
            found = pins[key] = tuple(self.signature(name) for name in TABLES)
        return found

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
            stale = [n for n in dict.fromkeys(names) if self._loaded.get(n, 0) != self.signature(n)]
            if stale:
                self._load(db, stale)
            cursor = db.cursor()
        try:
            cursor.execute(f"SET TimeZone = '{self.tz.key}'")
        except BaseException:
            cursor.close()
            raise
        return cursor

    def memoized(
        self, key: Hashable, compute: Callable[[], T], *, tables: Iterable[str] | None = None
    ) -> T:
        """``compute()``, cached under ``key`` until a data file it reads changes: the
        files of ``tables`` when given (``compute`` must read no other table), else any.

        For pure functions of the workspace data and ``key``; the cached object is shared,
        so callers must not mutate it. Threads asking for a value another thread is
        computing wait for that computation. Naming the tables keeps a value across edits
        of the others (a run appending to the backlog leaves the tickets read before).
        """
        full: tuple[Hashable, Hashable]
        if tables is None:
            full = (key, self.data_signature())
        else:
            names = sorted({get_table(t).name for t in tables})
            full = (key, tuple((name, self.signature(name)) for name in names))
        while True:
            with self._lock:
                if full in self._memo:
                    self._memo.move_to_end(full)
                    return self._memo[full]  # type: ignore[no-any-return]
                running = self._computing.get(full)
                if running is None:
                    done = self._computing[full] = threading.Event()
                    break
            # another thread computes the same value: wait for it instead of repeating it
            # (if it fails, the loop finds no value and this thread computes it)
            running.wait()
        try:
            value = compute()
        except BaseException:
            with self._lock:
                del self._computing[full]
            done.set()
            raise
        with self._lock:
            self._memo[full] = value
            while len(self._memo) > MEMO_SIZE:
                self._memo.popitem(last=False)
            del self._computing[full]
        done.set()
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

    def _load(self, db: duckdb.DuckDBPyConnection, names: list[str]) -> None:
        """Bring ``names`` up to date: from the cache when a file is unchanged, else load
        and validate it (and store the result in the cache)."""
        from nexus_agents.data.loader import create_empty, load_table, q

        signatures = {name: self.signature(name) for name in names}
        keys: dict[str, str] = {}
        for name, signature in signatures.items():
            self._loaded.pop(name, None)
            if signature is not None:
                key = self._cache_key(name)
                if key is not None:
                    keys[name] = key
        from_cache = self._read_cache(db, keys)
        fresh: dict[str, str] = {}
        try:
            for name in names:
                spec = TABLES[name]
                path = self.data_dir / spec.file
                signature = signatures[name]
                if name not in from_cache:
                    try:
                        if signature is None:
                            create_empty(db, spec)
                        else:
                            load_table(
                                db,
                                spec,
                                path,
                                self.tz,
                                shown=f"{DATA_DIR}/{spec.file}",
                                max_file_mb=self.config.data.max_file_mb,
                            )
                    except BaseException:
                        # a half-loaded table must not be visible to later cursors
                        db.execute(f"DROP VIEW IF EXISTS {q(spec.name)}")
                        raise
                    if name in keys:
                        fresh[name] = keys[name]
                if signature == _stat(path):  # not rewritten while being read
                    self._loaded[name] = signature
                else:
                    fresh.pop(name, None)
        finally:
            self._write_cache(db, fresh)

    def _cache_key(self, name: str) -> str | None:
        """Content hash of the table's file plus everything its loaded form depends on."""
        digest = hashlib.sha256(_code_fingerprint().encode())
        digest.update(TABLES[name].model_dump_json().encode())
        digest.update(self.tz.key.encode())
        try:
            with self.file_for(name).open("rb") as fh:
                while chunk := fh.read(1 << 20):
                    digest.update(chunk)
        except OSError:
            return None
        return digest.hexdigest()

    def _read_cache(self, db: duckdb.DuckDBPyConnection, keys: dict[str, str]) -> set[str]:
        """Restore the tables whose stored key matches; any cache trouble means a miss."""
        import duckdb

        from nexus_agents.data.loader import q

        if not keys or not self.cache_file.is_file():
            return set()
        restored: set[str] = set()
        with _CACHE_LOCK:
            try:
                db.execute(f"ATTACH {_lit(str(self.cache_file))} AS {_CACHE_ALIAS} (READ_ONLY)")
            except duckdb.Error:
                return set()
            try:
                stored = dict(
                    db.execute(f"SELECT name, key FROM {_CACHE_ALIAS}.main.nexus_tables").fetchall()
                )
                for name, key in keys.items():
                    if stored.get(name) != key:
                        continue
                    store = q(f"_t_{name}")
                    db.execute(
                        f"CREATE OR REPLACE TABLE {store} AS "
                        f"SELECT * FROM {_CACHE_ALIAS}.main.{q('t_' + name)}"
                    )
                    db.execute(f"CREATE OR REPLACE VIEW {q(name)} AS SELECT * FROM {store}")
                    restored.add(name)
            except duckdb.Error:
                pass
            finally:
                _detach(db)
        return restored

    def _write_cache(self, db: duckdb.DuckDBPyConnection, fresh: dict[str, str]) -> None:
        """Store freshly validated tables; a locked or unusable cache is left alone."""
        import duckdb

        from nexus_agents.data.loader import q

        if not fresh:
            return
        target = self.cache_file
        with _CACHE_LOCK:
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    db.execute(f"ATTACH {_lit(str(target))} AS {_CACHE_ALIAS}")
                except duckdb.Error as exc:
                    if "lock" in str(exc).lower() or not target.is_file():
                        return  # another process is using it
                    # not a readable database: start a new one
                    target.unlink()
                    target.with_name(target.name + ".wal").unlink(missing_ok=True)
                    db.execute(f"ATTACH {_lit(str(target))} AS {_CACHE_ALIAS}")
            except (OSError, duckdb.Error):
                return
            try:
                db.execute("BEGIN TRANSACTION")
                db.execute(
                    f"CREATE TABLE IF NOT EXISTS {_CACHE_ALIAS}.main.nexus_tables "
                    "(name VARCHAR PRIMARY KEY, key VARCHAR NOT NULL)"
                )
                for name, key in fresh.items():
                    db.execute(
                        f"CREATE OR REPLACE TABLE {_CACHE_ALIAS}.main.{q('t_' + name)} AS "
                        f"SELECT * FROM memory.main.{q(name)}"
                    )
                    db.execute(
                        f"DELETE FROM {_CACHE_ALIAS}.main.nexus_tables WHERE name = ?", [name]
                    )
                    db.execute(
                        f"INSERT INTO {_CACHE_ALIAS}.main.nexus_tables VALUES (?, ?)", [name, key]
                    )
                db.execute("COMMIT")
            except duckdb.Error:
                with suppress(duckdb.Error):
                    db.execute("ROLLBACK")
            finally:
                _detach(db)


def _detach(db: duckdb.DuckDBPyConnection) -> None:
    import duckdb

    with suppress(duckdb.Error):
        db.execute(f"DETACH {_CACHE_ALIAS}")


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


_FINGERPRINT: list[str] = []


def _code_fingerprint() -> str:
    """Identifies the loading code and DuckDB version: a new one invalidates the cache."""
    if not _FINGERPRINT:
        import duckdb

        from nexus_agents.data import loader, schema

        digest = hashlib.sha256(f"{_CACHE_FORMAT}:{duckdb.__version__}".encode())
        for module in (loader, schema):
            digest.update(Path(str(module.__file__)).read_bytes())
        _FINGERPRINT.append(digest.hexdigest())
    return _FINGERPRINT[0]


def _stat(path: Path) -> FileSignature:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)
