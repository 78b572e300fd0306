"""A workspace folder: ``nexus.toml`` plus the ``data/`` files described in ``schema``."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from nexus_agents.config import CONFIG_FILE, NexusConfig, load_config
from nexus_agents.data.schema import TABLES, get_table
from nexus_agents.exceptions import ConfigError

if TYPE_CHECKING:
    import duckdb

DATA_DIR = "data"


class Workspace:
    """One workspace. ``connect()`` gives a DuckDB connection with a view per table."""

    def __init__(self, path: str | Path = ".", config: NexusConfig | None = None) -> None:
        self.path = Path(path)
        self.config = config if config is not None else load_config(self.path)

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

    def connect(self, tables: Iterable[str] | None = None) -> duckdb.DuckDBPyConnection:
        """A new in-memory DuckDB connection with one validated view per table.

        ``tables`` limits loading to those names (default: all). A table whose file is
        missing is an empty view, so queries see "no data" instead of failing. Raises
        ``DataError`` for the first malformed file.
        """
        import duckdb

        from nexus_agents.data.loader import create_empty, load_table

        names = list(TABLES) if tables is None else [get_table(t).name for t in tables]
        conn = duckdb.connect(":memory:")
        try:
            conn.execute(f"SET TimeZone = '{self.tz.key}'")
            for name in names:
                spec = TABLES[name]
                path = self.data_dir / spec.file
                if path.is_file():
                    load_table(conn, spec, path, self.tz, shown=f"{DATA_DIR}/{spec.file}")
                else:
                    create_empty(conn, spec)
        except BaseException:
            conn.close()
            raise
        return conn
