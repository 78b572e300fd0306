"""Load and validate workspace data files into DuckDB.

CSV files are read by DuckDB itself (every column as text), validated and cast in one
SQL pass; the first bad cell is then located in the file with Python's ``csv`` module so
the error names the exact physical line. JSON Lines files are small and are parsed in
Python. Each table ends up as a view ``<name>`` with typed columns (see ``schema``).

The connection's ``TimeZone`` must be the workspace timezone: naive timestamps are read
in it, timestamps with an offset are converted to it, and all are stored naive.

Size limits, so a hostile or broken file cannot take the memory: a data file may not be
larger than ``[data] max_file_mb`` (default ``DEFAULT_MAX_FILE_MB``); one CSV record or
JSON Lines line may not be longer than ``MAX_RECORD_BYTES`` (also Python's
``csv.field_size_limit`` in this process). A file whose lines end in a mix of LF and
CRLF is read as it is when it is otherwise well-formed.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from nexus_agents.data.schema import Column, TableSpec
from nexus_agents.exceptions import DataError

if TYPE_CHECKING:
    import duckdb

_INT_RE = re.compile(r"[+-]?\d+")
# Plain decimal notation only: no digit separators ("1_000"), no "nan"/"inf".
_FLOAT_PATTERN = r"[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?"
_FLOAT_RE = re.compile(_FLOAT_PATTERN)
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_MONTH_RE = re.compile(r"\d{4}-\d{2}")
_TS_RE = re.compile(r"\d{4}-\d{2}-\d{2}([T ].*)?")
MAX_RECORD_BYTES = 1 << 20
"""Longest CSV record (its line, or its lines when a quoted field holds newlines) and
longest JSON Lines line, in bytes."""
DEFAULT_MAX_FILE_MB = 1024
"""Largest data file read by default (``[data] max_file_mb`` in nexus.toml)."""

# Python's csv module reads at most this much per field (process-wide setting; its
# default of 128 KiB would turn a legal long field into an error).
csv.field_size_limit(MAX_RECORD_BYTES)
_BOOLS = {"1": True, "0": False, "true": True, "false": False}

_TYPE_MESSAGES = {
    "int": "expected a whole number",
    "float": "expected a number",
    "bool": "expected 1/0 or true/false",
    "date": "expected a date YYYY-MM-DD",
    "month": "expected a month YYYY-MM",
    "timestamp": "expected an ISO 8601 timestamp",
}


def q(name: str) -> str:
    """Quote an SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# --- one list of checks per column, shared by the SQL and the Python paths -------------


def _range_message(col: Column) -> str | None:
    if col.min == 0 and col.max is None and not col.min_exclusive:
        return "must not be negative"
    parts = []
    if col.min is not None:
        parts.append(f"{'>' if col.min_exclusive else '>='} {col.min:g}")
    if col.max is not None:
        parts.append(f"<= {col.max:g}")
    return "must be " + " and ".join(parts) if parts else None


def _sql_checks(col: Column) -> list[tuple[str, str]]:
    """(condition on the trimmed text ``v`` that marks a bad cell, message)."""
    v = f"NULLIF(trim({q(col.name)}), '')"
    checks: list[tuple[str, str]] = []
    if not col.nullable:
        checks.append((f"{v} IS NULL", "empty value"))
    bad_type = {
        "int": f"NOT regexp_full_match({v}, '[+-]?[0-9]+')",
        "float": f"(NOT regexp_full_match({v}, '{_FLOAT_PATTERN}')"
        f" OR NOT coalesce(isfinite(TRY_CAST({v} AS DOUBLE)), false))",
        "bool": f"lower({v}) NOT IN ('1', '0', 'true', 'false')",
        "date": f"(NOT regexp_full_match({v}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}')"
        f" OR TRY_CAST({v} AS DATE) IS NULL)",
        "month": f"(NOT regexp_full_match({v}, '[0-9]{{4}}-[0-9]{{2}}')"
        f" OR TRY_CAST({v} || '-01' AS DATE) IS NULL)",
        "timestamp": f"(NOT regexp_full_match({v}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}([T ].*)?')"
        f" OR TRY_CAST({v} AS TIMESTAMPTZ) IS NULL)",
    }.get(col.type)
    if bad_type:
        checks.append((f"({v} IS NOT NULL AND {bad_type})", _TYPE_MESSAGES[col.type]))
    if col.choices:
        allowed = ", ".join(_lit(c) for c in col.choices)
        checks.append(
            (f"{v} NOT IN ({allowed})", "unknown value; expected one of " + ", ".join(col.choices))
        )
    message = _range_message(col)
    if message:
        typed = f"TRY_CAST({v} AS DOUBLE)"
        conds = []
        if col.min is not None:
            conds.append(f"{typed} {'<=' if col.min_exclusive else '<'} {col.min!r}")
        if col.max is not None:
            conds.append(f"{typed} > {col.max!r}")
        checks.append(("(" + " OR ".join(conds) + ")", message))
    return checks


def _sql_typed(col: Column) -> str:
    v = f"NULLIF(trim({q(col.name)}), '')"
    return {
        "str": v,
        "int": f"TRY_CAST({v} AS BIGINT)",
        "float": f"TRY_CAST({v} AS DOUBLE)",
        "bool": f"CASE lower({v}) WHEN '1' THEN true WHEN 'true' THEN true "
        f"WHEN '0' THEN false WHEN 'false' THEN false END",
        "date": f"TRY_CAST({v} AS DATE)",
        "month": f"TRY_CAST({v} || '-01' AS DATE)",
        "timestamp": f"CAST(TRY_CAST({v} AS TIMESTAMPTZ) AS TIMESTAMP)",
    }[col.type]


def parse_value(col: Column, raw: object, tz: tzinfo) -> tuple[Any, str | None]:
    """Python twin of the SQL checks: (typed value, error message or None)."""
    if isinstance(raw, bool):
        text: str | None = "true" if raw else "false"
    elif raw is None:
        text = None
    elif isinstance(raw, int | float | str):
        text = str(raw).strip() or None
    else:
        return None, f"expected a {col.type} value, got JSON {type(raw).__name__}"
    if text is None:
        return (None, None) if col.nullable else (None, "empty value")
    value: Any = text
    try:
        if col.type == "int":
            if not _INT_RE.fullmatch(text):
                raise ValueError
            value = int(text)
        elif col.type == "float":
            if not _FLOAT_RE.fullmatch(text):
                raise ValueError
            value = float(text)
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError
        elif col.type == "bool":
            value = _BOOLS[text.lower()]
        elif col.type == "date":
            if not _DATE_RE.fullmatch(text):
                raise ValueError
            value = date.fromisoformat(text)
        elif col.type == "month":
            if not _MONTH_RE.fullmatch(text):
                raise ValueError
            value = date.fromisoformat(text + "-01")
        elif col.type == "timestamp":
            if not _TS_RE.fullmatch(text):
                raise ValueError
            value = to_local(datetime.fromisoformat(text), tz)
    except (ValueError, KeyError):
        return None, _TYPE_MESSAGES[col.type]
    if col.choices and text not in col.choices:
        return None, "unknown value; expected one of " + ", ".join(col.choices)
    if isinstance(value, int | float) and not isinstance(value, bool):
        too_low = col.min is not None and (
            value <= col.min if col.min_exclusive else value < col.min
        )
        if too_low or (col.max is not None and value > col.max):
            return None, _range_message(col)
    return value, None


def to_local(moment: datetime, tz: tzinfo) -> datetime:
    """Naive local time in ``tz`` (naive input is taken as already local)."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(tz).replace(tzinfo=None)


# --- tables -------------------------------------------------------------------------------


def create_empty(conn: duckdb.DuckDBPyConnection, spec: TableSpec) -> None:
    """An empty typed view for a file that is not there (= no data)."""
    cols = ", ".join(f"CAST(NULL AS {c.sql_type}) AS {q(c.name)}" for c in spec.columns)
    conn.execute(f"CREATE OR REPLACE VIEW {q(spec.name)} AS SELECT {cols} WHERE false")


def load_table(
    conn: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    path: Path,
    tz: tzinfo,
    *,
    shown: str,
    max_file_mb: int = DEFAULT_MAX_FILE_MB,
) -> int:
    """Load ``path`` into view ``spec.name``; return its row count. ``shown`` names the file in errors."""
    size = path.stat().st_size
    if size > max_file_mb * (1 << 20):
        raise DataError(
            shown,
            f"file is {size / (1 << 20):,.1f} MB, more than the limit of {max_file_mb} MB "
            "([data] max_file_mb in nexus.toml)",
        )
    if spec.format == "jsonl":
        return _load_jsonl(conn, spec, path, tz, shown)
    return _load_csv(conn, spec, path, shown)


def _read_header(path: Path, shown: str) -> list[str]:
    with path.open("rb") as fh:
        lines = _Lines(fh, shown)
        try:
            header = next(csv.reader(lines, strict=True), None)
        except csv.Error as exc:
            raise DataError(shown, f"unreadable header: {exc}", line=lines.count) from None
    if not header or all(not h.strip() for h in header):
        raise DataError(shown, "empty file: expected a header line with column names", line=1)
    names = [h.strip() for h in header]
    seen: set[str] = set()
    for name in names:
        if not name:
            raise DataError(shown, "a column in the header has no name", line=1)
        if name in seen:
            raise DataError(shown, "column appears twice in the header", line=1, column=name)
        seen.add(name)
    return names


def _too_long(shown: str, line: int) -> DataError:
    return DataError(
        shown,
        f"line is longer than {MAX_RECORD_BYTES:,} bytes, the limit for one record",
        line=line,
    )


def _check_line_lengths(path: Path, shown: str) -> None:
    """Refuse a file with a line over the limit before DuckDB reads it (DuckDB holds such
    a line several times over while it builds its error message)."""
    limit = MAX_RECORD_BYTES + 1  # a CR before the LF is not content
    with path.open("rb") as fh:
        line, carry = 1, 0
        while chunk := fh.read(1 << 23):
            parts = chunk.split(b"\n")
            lengths = [carry + len(parts[0]), *map(len, parts[1:])]
            if max(lengths) > limit:
                raise _too_long(shown, line + next(i for i, n in enumerate(lengths) if n > limit))
            line += len(parts) - 1
            carry = lengths[-1]


def _load_csv(conn: duckdb.DuckDBPyConnection, spec: TableSpec, path: Path, shown: str) -> int:
    import duckdb

    _check_line_lengths(path, shown)
    header = _read_header(path, shown)
    for col in spec.columns:
        if col.required and col.name not in header:
            raise DataError(shown, "missing required column", line=1, column=col.name)
    present = [c for c in spec.columns if c.name in header]
    known = {c.name for c in spec.columns}
    extras = [h for h in header if h not in known]

    checks: list[tuple[str, str, str]] = [
        (col.name, cond, msg) for col in present for cond, msg in _sql_checks(col)
    ]
    bad = (
        "CASE "
        + " ".join(f"WHEN {cond} THEN {i}" for i, (_, cond, _) in enumerate(checks))
        + " END"
        if checks
        else "NULL"
    )
    typed = [
        f"{_sql_typed(c)} AS {q(c.name)}"
        if c.name in header
        else f"CAST(NULL AS {c.sql_type}) AS {q(c.name)}"
        for c in spec.columns
    ] + [f"{q(h)}" for h in extras]
    col_types = "{" + ", ".join(f"{_lit(h)}: 'VARCHAR'" for h in header) + "}"
    store = q(f"_t_{spec.name}")

    def create(strict: bool) -> str:
        source = (
            f"read_csv({_lit(str(path))}, header=true, auto_detect=false, columns={col_types}, "
            f"delim=',', quote='\"', escape='\"', strict_mode={str(strict).lower()}, "
            # parallel=false: the parallel reader silently dropped a last line of 50 MB
            f"encoding='utf-8', max_line_size={MAX_RECORD_BYTES}, parallel=false)"
        )
        return (
            f"CREATE OR REPLACE TABLE {store} AS SELECT _row, {', '.join(typed)}, {bad} AS _bad "
            f"FROM (SELECT row_number() OVER () AS _row, * FROM {source})"
        )

    try:
        conn.execute(create(strict=True))
    except duckdb.Error as exc:
        # DuckDB's message rarely says where; read the file once more to find out
        records = _diagnose(path, shown, len(header), str(exc))
        # only line endings were mixed: the lenient reader gives the same records
        try:
            conn.execute(create(strict=False))
        except duckdb.Error:
            raise _csv_reader_error(shown, str(exc)) from None
        found = conn.execute(f"SELECT count(*) FROM {store}").fetchone()
        if found is None or found[0] != records:
            raise _csv_reader_error(shown, str(exc)) from None
    hit = conn.execute(
        f"SELECT _row, _bad FROM {store} WHERE _bad IS NOT NULL ORDER BY _row LIMIT 1"
    ).fetchone()
    if hit is not None:
        column, _, message = checks[hit[1]]
        raise _cell_error(path, shown, int(hit[0]), header, column, message)
    for check in spec.row_checks:
        row = conn.execute(f"SELECT min(_row) FROM {store} WHERE {check.sql}").fetchone()
        if row is not None and row[0] is not None:
            line, _ = _locate(path, int(row[0]))
            raise DataError(shown, check.message, line=line, column=check.column)
    names = ", ".join(q(c.name) for c in spec.columns) + "".join(f", {q(h)}" for h in extras)
    conn.execute(f"CREATE OR REPLACE VIEW {q(spec.name)} AS SELECT {names} FROM {store}")
    count = conn.execute(f"SELECT count(*) FROM {store}").fetchone()
    return int(count[0]) if count else 0


def _csv_reader_error(shown: str, message: str) -> DataError:
    match = re.search(r"Line:\s*(\d+)", message)
    line = int(match.group(1)) if match else None
    if "unicode" in message.lower() or "utf-8" in message.lower():
        return DataError(shown, "not UTF-8 encoded", line=line)
    lines = [ln.strip() for ln in message.splitlines() if ln.strip()]
    reason = "cannot be read as CSV"
    for i, text in enumerate(lines):
        if text.startswith("Original Line") and i + 1 < len(lines):
            reason = f"cannot be read as CSV: {lines[i + 1][:80]}"
            break
    return DataError(shown, reason, line=line)


class _Lines:
    """A file's lines as text for ``csv.reader``: each at most ``MAX_RECORD_BYTES`` long
    (else a DataError naming the line), numbered, and how the last one ended."""

    def __init__(self, fh: BinaryIO, shown: str) -> None:
        self.fh = fh
        self.shown = shown
        self.count = 0
        self.ending = b""

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        raw = self.fh.readline(MAX_RECORD_BYTES + 2)  # room for CR LF
        if not raw:
            raise StopIteration
        self.count += 1
        if len(raw.rstrip(b"\r\n")) > MAX_RECORD_BYTES:
            raise _too_long(self.shown, self.count)
        if self.count == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise DataError(self.shown, "not UTF-8 encoded", line=self.count) from None
        self.ending = b"\r\n" if raw.endswith(b"\r\n") else raw[-1:] if raw[-1:] in b"\r\n" else b""
        return text


def _diagnose(path: Path, shown: str, width: int, message: str) -> int:
    """After DuckDB refused ``path``: raise the DataError for the first broken record,
    with its line. Returns the number of data records when the only fault is a mix of
    LF and CRLF line endings (which the lenient reader handles)."""
    with path.open("rb") as fh:
        lines = _Lines(fh, shown)
        reader = csv.reader(lines, strict=True)
        first_ending: bytes | None = None
        mixed = False
        records = -1  # the header is record 0
        start = 1
        try:
            for fields in reader:
                if fields:
                    records += 1
                    if records and (len(fields) < width or any(f.strip() for f in fields[width:])):
                        raise DataError(
                            shown,
                            f"cannot be read as CSV: expected {width} fields, found {len(fields)}",
                            line=start,
                        )
                    if lines.ending:
                        first_ending = first_ending or lines.ending
                        mixed = mixed or lines.ending != first_ending
                start = lines.count + 1
        except csv.Error as exc:
            raise DataError(shown, f"cannot be read as CSV: {exc}", line=lines.count) from None
    if not mixed:
        raise _csv_reader_error(shown, message)
    return max(records, 0)


def _locate(path: Path, record: int) -> tuple[int, list[str]]:
    """Physical line (1-based, header = 1) where data record ``record`` (1-based) starts."""
    with path.open("rb") as fh:
        lines = _Lines(fh, str(path))
        reader = csv.reader(lines)
        start = 1
        index = 0
        for fields in reader:
            if fields and index == record:
                return start, fields
            if fields:
                index += 1
            start = lines.count + 1
    return start, []


def _cell_error(
    path: Path, shown: str, record: int, header: list[str], column: str, message: str
) -> DataError:
    line, fields = _locate(path, record)
    pos = header.index(column)
    if pos < len(fields) and fields[pos].strip():
        message = f"{message}, got {fields[pos].strip()[:60]!r}"
    return DataError(shown, message, line=line, column=column)


def _load_jsonl(
    conn: duckdb.DuckDBPyConnection, spec: TableSpec, path: Path, tz: tzinfo, shown: str
) -> int:
    rows: list[tuple[Any, ...]] = []
    with path.open("rb") as fh:
        lines = _Lines(fh, shown)
        for line in lines:
            if line.strip():
                rows.append(_jsonl_row(spec, line, lines.count, tz, shown))
    store = q(f"_t_{spec.name}")
    cols = ", ".join(f"{q(c.name)} {c.sql_type}" for c in spec.columns)
    conn.execute(f"CREATE OR REPLACE TABLE {store} ({cols})")
    if rows:
        marks = ", ".join("?" for _ in spec.columns)
        conn.executemany(f"INSERT INTO {store} VALUES ({marks})", rows)
    conn.execute(f"CREATE OR REPLACE VIEW {q(spec.name)} AS SELECT * FROM {store}")
    return len(rows)


def _jsonl_row(spec: TableSpec, line: str, line_no: int, tz: tzinfo, shown: str) -> tuple[Any, ...]:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DataError(shown, f"not valid JSON: {exc.msg}", line=line_no) from None
    if not isinstance(obj, dict):
        raise DataError(shown, "expected a JSON object", line=line_no)
    values = []
    for col in spec.columns:
        if col.name not in obj and col.required:
            raise DataError(shown, "missing required key", line=line_no, column=col.name)
        value, error = parse_value(col, obj.get(col.name), tz)
        if error:
            raise DataError(shown, error, line=line_no, column=col.name)
        values.append(value)
    return tuple(values)
