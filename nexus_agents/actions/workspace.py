"""The default integration: writes actions to files in the workspace.

Every action is appended as one JSON line to ``<workspace>/actions.jsonl``; a key seen
there before is not executed again. Two actions also change ``data/backlog.csv``:
``backlog_append`` adds rows with unique ids, and ``deploy`` of a backlog item sets that
item's status to ``shipped``, so sprint planning never selects it again.

Both writes hold across a crash before their log line: appended rows carry the action's
idempotency key in the ``source`` column, and an append that finds rows with its key
records them instead of writing again; marking an item shipped gives the same file however
often it is repeated. Text from a model becomes one clean cell (one line, no control
characters, a formula-like start neutralised, at most ``CELL_CHARS`` characters); RICE
inputs stay empty for someone to rate; the file keeps its line endings.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nexus_agents.actions.base import ActionRequest, ActionResult
from nexus_agents.exceptions import DataError
from nexus_agents.untrusted_text import cut, normalise

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "BACKLOG_COLUMNS",
    "CELL_CHARS",
    "SHIPPED",
    "WorkspaceIntegration",
    "backlog_items",
    "csv_cell",
    "deployed_item",
]

BACKLOG_COLUMNS = (
    "id",
    "title",
    "reach",
    "impact",
    "confidence",
    "effort",
    "status",
    "source",
    "description",
    "owner",
    "deadline",
    "created_at",
)
"""Header of a backlog file the integration creates (the schema's columns first)."""
TEXT_COLUMNS = ("title", "description", "owner", "deadline")
"""Columns an appended item may fill from its (model-written) payload."""
CELL_CHARS = 2_000
SHIPPED = "shipped"
_ITEM_LISTS = ("items", "backlog_items", "prevention_actions", "actions")
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}")
_NUMBERED_ID = re.compile(r"BL-(\d+)")
# a cell starting with one of these is a formula to a spreadsheet (tab and CR are gone
# by the time this is checked: a cell is one line)
_FORMULA_START = ("=", "+", "-", "@")


def csv_cell(value: object, limit: int = CELL_CHARS) -> str:
    """Model or user text as one safe CSV cell: one line without control or invisible
    characters, cut to ``limit``, and a leading formula character quoted with ``'``."""
    text = normalise(cut(str(value), limit), single_line=True)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _line_ending(head: bytes) -> str:
    """The header line's ending, which appended rows must use too (a CRLF inside a
    quoted cell further down says nothing about the file's line ends)."""
    first = head.find(b"\n")
    return "\r\n" if first > 0 and head[first - 1 : first] == b"\r" else "\n"


def _records(text: str) -> Iterator[tuple[str, list[str]]]:
    """Each CSV record with the exact text it was read from (line end included)."""
    pieces = re.split(r"(?<=\n)", text)
    consumed: list[str] = []

    def lines() -> Iterator[str]:
        for piece in pieces:
            if piece:
                consumed.append(piece)
                yield piece

    for fields in csv.reader(lines()):
        raw = "".join(consumed)
        consumed.clear()
        yield raw, fields


def _shown(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def _decoded(raw: bytes, path: Path) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(_shown(path), "not UTF-8 text", line=line) from None


def _column(header: list[str], name: str, path: Path) -> int:
    try:
        return header.index(name)
    except ValueError:
        raise DataError(_shown(path), "missing required column", line=1, column=name) from None


def backlog_items(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Find the list of items to add in an action payload (or the artifact it carries)."""
    candidates: list[dict[str, Any]] = [payload]
    artifact = payload.get("artifact")
    if isinstance(artifact, dict):
        candidates.append(artifact)
        for part in ("narrative", "facts"):
            if isinstance(artifact.get(part), dict):
                candidates.append(artifact[part])
    for holder in candidates:
        for key in _ITEM_LISTS:
            found = holder.get(key)
            if isinstance(found, list) and all(isinstance(i, dict) for i in found):
                return found
    return []


def deployed_item(payload: dict[str, Any]) -> str | None:
    """The backlog item a deploy ships: ``item_id`` of the payload or of the deploy
    decision it carries (its facts, set by code)."""
    if payload.get("item_id"):
        return str(payload["item_id"])
    artifact = payload.get("artifact")
    if isinstance(artifact, dict) and artifact.get("kind") == "deploy_decision":
        facts = artifact.get("facts")
        if isinstance(facts, dict) and facts.get("item_id"):
            return str(facts["item_id"])
    return None


class WorkspaceIntegration:
    """Records actions in the workspace instead of calling external systems."""

    def __init__(self, workspace: str | Path) -> None:
        self.workspace = Path(workspace)
        self.log_path = self.workspace / "actions.jsonl"
        self.backlog_path = self.workspace / "data" / "backlog.csv"
        self._lock = asyncio.Lock()
        # The log read so far: rows by idempotency key, and where reading stopped. Other
        # processes may append too, so each lookup reads only what was added since.
        self._known: dict[str, dict[str, Any]] = {}
        self._order: list[str] = []
        self._offset = 0
        self._backlog: tuple[tuple[int, ...], _Backlog] | None = None

    async def deploy(self, request: ActionRequest) -> ActionResult:
        async with self._lock:
            previous = self._logged(request.idempotency_key)
            if previous is not None:
                return previous
            item_id = deployed_item(request.payload)
            marked = False
            if item_id:
                with self._backlog_lock():
                    marked = self._mark_shipped(item_id)
            detail = "deployment recorded"
            if marked:
                detail += f"; backlog item {item_id} marked {SHIPPED}"
            data = {"item_id": item_id, "marked_shipped": marked} if item_id else {}
            result = ActionResult(detail=detail, data=data)
            self._log(request, result)
            return result

    async def publish(self, request: ActionRequest) -> ActionResult:
        return await self._record(request, "publication recorded")

    async def status_post(self, request: ActionRequest) -> ActionResult:
        return await self._record(request, "status post recorded")

    async def notify(self, request: ActionRequest) -> ActionResult:
        return await self._record(request, "notification recorded")

    async def backlog_append(self, request: ActionRequest) -> ActionResult:
        async with self._lock:
            previous = self._logged(request.idempotency_key)
            if previous is not None:
                return previous
            with self._backlog_lock():
                added = self._write_backlog(request)
            result = ActionResult(detail=f"{len(added)} backlog item(s) added", data={"ids": added})
            self._log(request, result)
            return result

    def recorded(self, key: str) -> ActionResult | None:
        """The result of the action with idempotency key ``key``; None if not executed."""
        return self._logged(key)

    def records(self) -> list[dict[str, Any]]:
        """Every logged action (the request, its result, ``executed_at``), in order."""
        self._refresh()
        return [self._known[key] for key in self._order]

    def executed_keys(self) -> list[str]:
        """Idempotency keys of every action in the log, in order."""
        self._refresh()
        return list(self._order)

    # ------------------------------------------------------------------ internals

    async def _record(self, request: ActionRequest, detail: str) -> ActionResult:
        async with self._lock:
            previous = self._logged(request.idempotency_key)
            if previous is not None:
                return previous
            result = ActionResult(detail=detail)
            self._log(request, result)
            return result

    def _refresh(self) -> None:
        if not self.log_path.is_file():
            self._known, self._order, self._offset = {}, [], 0
            return
        size = self.log_path.stat().st_size
        if size < self._offset:  # the log was replaced: read it again from the start
            self._known, self._order, self._offset = {}, [], 0
        if size == self._offset:
            return
        with self.log_path.open("rb") as fh:
            fh.seek(self._offset)
            chunk = fh.read(size - self._offset)
        complete = chunk[: chunk.rfind(b"\n") + 1]  # a line still being written waits
        self._offset += len(complete)
        for line in complete.decode("utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                self._remember(row.get("idempotency_key"), row)

    def _logged(self, key: str) -> ActionResult | None:
        self._refresh()
        row = self._known.get(key)
        return None if row is None else ActionResult.model_validate(row.get("result") or {})

    def _log(self, request: ActionRequest, result: ActionResult) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        row = {
            **request.model_dump(mode="json"),
            "result": result.model_dump(mode="json"),
            "executed_at": datetime.now(UTC).isoformat(),
        }
        line = (json.dumps(row, sort_keys=True, default=str) + "\n").encode("utf-8")
        with self.log_path.open("ab") as fh:
            fh.write(line)
            fh.flush()
            # appended at the end whatever other processes wrote: this one's offset is
            # now just past the line
            start = fh.tell() - len(line)
        if start == self._offset:  # nothing unread before it: known without reading it back
            self._remember(request.idempotency_key, row)
            self._offset = start + len(line)

    def _remember(self, key: Any, row: dict[str, Any]) -> None:
        """A log row read or written: the latest row of a key wins, its first place stays."""
        if key not in self._known:
            self._order.append(key)
        self._known[key] = row

    @contextlib.contextmanager
    def _backlog_lock(self) -> Iterator[None]:
        """Hold the workspace's backlog lock: another process (a worker, a CLI run) must
        not append between this one's read and its write."""
        if fcntl is None:  # no advisory locks on this platform
            yield
            return
        lock = self.workspace / ".nexus" / "backlog.lock"
        lock.parent.mkdir(parents=True, exist_ok=True)
        with lock.open("a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _write_backlog(self, request: ActionRequest) -> list[str]:
        """Append the request's items (once per idempotency key); their ids."""
        path, key = self.backlog_path, request.idempotency_key
        seen = self._backlog_as_read()
        if seen is None:  # no backlog yet: a header first
            path.parent.mkdir(parents=True, exist_ok=True)
            chunk = io.StringIO()
            csv.writer(chunk, lineterminator="\n").writerow(BACKLOG_COLUMNS)
            seen = _Backlog(list(BACKLOG_COLUMNS), "\n", chunk.getvalue(), {}, {})
        elif key in seen.by_source:  # an earlier attempt wrote them and died before its log line
            return seen.by_source[key]
        new_rows = self._new_rows(request, seen)
        if new_rows or seen.prefix:
            chunk = io.StringIO()
            csv.writer(chunk, lineterminator=seen.line_end).writerows(new_rows)
            _append_once(path, (seen.prefix + chunk.getvalue()).encode("utf-8"))
        added = [row[seen.header.index("id")] for row in new_rows]
        seen.prefix = ""
        for item_id in added:
            seen.add(item_id)
        if added:
            seen.by_source[key] = added
        self._backlog = (_file_version(path), seen)
        return added

    def _backlog_as_read(self) -> _Backlog | None:
        """The backlog's header, ids and sources; read again only when the file is not
        the one this integration last read or wrote (another process or a person
        changed it), so an append does not parse the whole file each time."""
        path = self.backlog_path
        if not path.is_file() or path.stat().st_size == 0:
            return None
        version = _file_version(path)
        if self._backlog is not None and self._backlog[0] == version:
            return self._backlog[1]
        raw = path.read_bytes()
        text = _decoded(raw, path)
        rows = [fields for _, fields in _records(text)]
        header = rows[0] if rows else list(BACKLOG_COLUMNS)
        id_at, source_at = _column(header, "id", path), _column(header, "source", path)
        seen = _Backlog(
            header,
            _line_ending(raw[:65536]),
            "" if raw.endswith(b"\n") else _line_ending(raw[:65536]),
            {},
            {},
        )
        for row in rows[1:]:
            if len(row) > max(id_at, source_at):
                seen.add(row[id_at])
                seen.by_source.setdefault(row[source_at], []).append(row[id_at])
        self._backlog = (version, seen)
        return seen

    def _new_rows(self, request: ActionRequest, seen: _Backlog) -> list[list[str]]:
        next_number, width = seen.next_number, seen.width or 4
        taken: set[str] = set()  # ids given to this request's earlier items
        now = datetime.now(UTC).isoformat(timespec="seconds")
        rows: list[list[str]] = []
        for item in backlog_items(request.payload):
            item_id = str(item.get("id") or "").strip()
            if item_id in seen.ids or item_id in taken:
                continue  # already in the backlog (an item put back keeps its row)
            if not _SAFE_ID.fullmatch(item_id):
                item_id = f"BL-{next_number:0{width}d}"
                next_number += 1
            taken.add(item_id)
            title = item.get("title") or item.get("action") or item.get("description") or ""
            values = {col: csv_cell(item.get(col) or "") for col in TEXT_COLUMNS}
            values |= {
                "id": item_id,
                "title": csv_cell(title),
                "status": "new",
                "source": request.idempotency_key,
                "created_at": now,
            }
            rows.append([values.get(col, "") for col in seen.header])
        return rows

    def _mark_shipped(self, item_id: str) -> bool:
        """Set the status of backlog item ``item_id`` to shipped; False when the backlog
        has no such item. Every other byte of the file stays as it was."""
        path = self.backlog_path
        if not path.is_file():
            return False
        raw = path.read_bytes()
        bom = "\ufeff" if raw.startswith(b"\xef\xbb\xbf") else ""
        records = list(_records(_decoded(raw, path)))
        if not records:
            return False
        header = records[0][1]
        id_at, status_at = _column(header, "id", path), _column(header, "status", path)
        found, changed = False, False
        out = [bom + records[0][0]]
        for text, fields in records[1:]:
            if len(fields) > max(id_at, status_at) and fields[id_at] == item_id:
                found = True
                if fields[status_at].strip().lower() != SHIPPED:
                    fields[status_at] = SHIPPED
                    ending = text[len(text.rstrip("\r\n")) :]
                    line = io.StringIO()
                    csv.writer(line, lineterminator=ending or "").writerow(fields)
                    text, changed = line.getvalue(), True
            out.append(text)
        if changed:
            _replace(path, "".join(out).encode("utf-8"))
        return found


@dataclass
class _Backlog:
    """What appending needs to know of a backlog file, as last read or written."""

    header: list[str]
    line_end: str
    prefix: str  # written before the next rows (a line end the file's last row lacks)
    ids: dict[str, None]  # every item id, in file order
    by_source: dict[str, list[str]]  # the ids each action (idempotency key) added
    next_number: int = 1  # after the highest BL-<n> id
    width: int | None = None  # digits of the longest BL-<n> id

    def add(self, item_id: str) -> None:
        """Note an id the file holds; kept up to date so an append does not scan them all."""
        self.ids[item_id] = None
        numbered = _NUMBERED_ID.fullmatch(item_id)
        if numbered is not None:
            digits = numbered.group(1)
            self.next_number = max(self.next_number, int(digits) + 1)
            self.width = max(self.width or 0, len(digits))


def _file_version(path: Path) -> tuple[int, ...]:
    """Changes whenever the file's content may have: its inode, size and change times."""
    st = path.stat()
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _append_once(path: Path, data: bytes) -> None:
    """Append ``data`` with as few writes as the OS allows (one, for a few KB): a killed
    process leaves all of it or none."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def _replace(path: Path, data: bytes) -> None:
    """Write ``data`` to a file next to ``path`` and rename it over ``path`` (readers see
    the old file or the new one, never half of one)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
