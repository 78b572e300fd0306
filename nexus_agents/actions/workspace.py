"""The default integration: writes actions to files in the workspace.

Every action is appended as one JSON line to ``<workspace>/actions.jsonl``; a key seen
there before is not executed again. ``backlog_append`` also adds rows to
``<workspace>/data/backlog.csv`` with unique ids.
"""

from __future__ import annotations

import asyncio
import csv
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nexus_agents.actions.base import ActionRequest, ActionResult

__all__ = ["BACKLOG_COLUMNS", "WorkspaceIntegration", "backlog_items"]

BACKLOG_COLUMNS = ("id", "title", "description", "owner", "deadline", "source", "created_at")
_ITEM_LISTS = ("items", "backlog_items", "prevention_actions", "actions")


def _line_ending(path: Path) -> str:
    """The line ending the file already uses (appended rows must match it)."""
    with path.open("rb") as fh:
        head = fh.read(65536)
    return "\r\n" if b"\r\n" in head else "\n"


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as fh:
        fh.seek(-1, 2)
        return fh.read(1) == b"\n"


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

    async def deploy(self, request: ActionRequest) -> ActionResult:
        return await self._record(request, "deployment recorded")

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
            added = self._append_backlog(request)
            result = ActionResult(detail=f"{len(added)} backlog item(s) added", data={"ids": added})
            self._log(request, result)
            return result

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
                key = row.get("idempotency_key")
                if key not in self._known:
                    self._order.append(key)
                self._known[key] = row

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
        with self.log_path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row, sort_keys=True, default=str) + "\n")

    def _append_backlog(self, request: ActionRequest) -> list[str]:
        items = backlog_items(request.payload)
        path = self.backlog_path
        header: list[str] = list(BACKLOG_COLUMNS)
        existing_ids: set[str] = set()
        if path.is_file() and path.stat().st_size > 0:
            line_end = _line_ending(path)
            with path.open(newline="", encoding="utf-8") as fh:
                reader = csv.DictReader(fh)
                header = list(reader.fieldnames or BACKLOG_COLUMNS)
                existing_ids = {row.get("id") or "" for row in reader}
            write_header = False
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_header = True
            line_end = "\n"
        digits = [m.group(1) for i in existing_ids if (m := re.fullmatch(r"BL-(\d+)", i))]
        next_number = max((int(d) for d in digits), default=0) + 1
        width = max((len(d) for d in digits), default=4)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        rows: list[dict[str, str]] = []
        for item in items:
            item_id = str(item.get("id") or "")
            if not item_id:
                item_id = f"BL-{next_number:0{width}d}"
                next_number += 1
            if item_id in existing_ids:
                continue
            existing_ids.add(item_id)
            title = item.get("title") or item.get("action") or item.get("description") or ""
            values = {
                "id": item_id,
                "title": str(title),
                "description": str(item.get("description") or ""),
                "owner": str(item.get("owner") or ""),
                "deadline": str(item.get("deadline") or ""),
                "source": f"{request.run_id}:{request.step_id}",
                "status": str(item.get("status") or "new"),
                "created_at": now,
            }
            rows.append({col: values.get(col, str(item.get(col, "") or "")) for col in header})
        if rows or write_header:
            with path.open("a", newline="", encoding="utf-8") as fh:
                if not write_header and not _ends_with_newline(path):
                    fh.write(line_end)
                writer = csv.DictWriter(fh, fieldnames=header, lineterminator=line_end)
                if write_header:
                    writer.writeheader()
                writer.writerows(rows)
        return [r["id"] for r in rows if "id" in r]
