"""The delivery ledger: what happened to each action sent to a webhook.

``<workspace>/.nexus/deliveries.jsonl`` gets one JSON line per change of an action's
delivery state: ``pending`` when sending starts, then ``delivered`` or ``failed`` (with the
attempts so far, the last error and the time). The newest line of a key is its state. A
line is appended with one write and flushed to disk before the caller goes on, so a
``delivered`` line exists before the run records its step: a run killed after that point
finds it on resume and does not send the action again.

Lines carry the action's payload (to retry it later) and a redacted target
(``scheme://host/…``), never the webhook URL itself.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from nexus_agents.actions.base import ActionKind, ActionRequest

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["DELIVERY_STATUSES", "Delivery", "DeliveryLedger", "DeliveryStatus", "redact_url"]

DeliveryStatus = Literal["pending", "delivered", "failed"]
DELIVERY_STATUSES: tuple[str, ...] = ("pending", "delivered", "failed")
FILE_TARGET = "file"
"""The target of an action that is only recorded in the workspace."""


def redact_url(url: str) -> str:
    """``https://hooks.slack.com/…``: scheme, host and port only (paths and query strings
    of webhook URLs are credentials)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<url>"
    return f"{parts.scheme or '?'}://{host}{port}/…"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Delivery(BaseModel):
    """One state of one action's delivery."""

    model_config = ConfigDict(extra="ignore")

    key: str
    run_id: str
    step_id: str
    kind: ActionKind
    status: DeliveryStatus
    target: str = FILE_TARGET
    attempts: int = 0
    http_status: int | None = None
    last_error: str | None = None
    at: str = Field(default_factory=now_iso)
    payload: dict[str, Any] = Field(default_factory=dict)

    def request(self) -> ActionRequest:
        """The action again, with the same idempotency key."""
        return ActionRequest(
            kind=self.kind,
            idempotency_key=self.key,
            run_id=self.run_id,
            step_id=self.step_id,
            payload=self.payload,
        )

    def summary(self) -> dict[str, Any]:
        """What ``nexus actions list`` and a step's result show (no payload)."""
        return self.model_dump(mode="json", exclude={"payload"})


class DeliveryLedger:
    """Reads and appends ``.nexus/deliveries.jsonl`` (several processes may share it)."""

    def __init__(self, workspace: str | Path) -> None:
        self.path = Path(workspace) / ".nexus" / "deliveries.jsonl"

    def latest(self) -> dict[str, Delivery]:
        """The newest state of every key, in the order keys first appeared."""
        found: dict[str, Delivery] = {}
        if not self.path.is_file():
            return found
        raw = self.path.read_bytes()
        complete = raw[: raw.rfind(b"\n") + 1]  # a line still being written waits
        for line in complete.decode("utf-8").splitlines():
            if not line.strip():
                continue
            try:
                row = Delivery.model_validate_json(line)
            except ValueError:
                continue  # a line damaged by hand is not a delivery
            found[row.key] = row
        return found

    def get(self, key: str) -> Delivery | None:
        return self.latest().get(key)

    def append(self, delivery: Delivery) -> None:
        line = json.dumps(delivery.model_dump(mode="json"), sort_keys=True, default=str) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._locked():
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                view = memoryview(line.encode("utf-8"))
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if fcntl is None:
            yield
            return
        with (self.path.parent / "deliveries.lock").open("a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


def action_states(workspace: str | Path) -> list[Delivery]:
    """Every action of ``workspace`` with its delivery state: each one executed (in
    ``actions.jsonl``; a file-only one has the target ``file``), then each one the ledger
    knows that was not executed (pending, failed, or delivered and not yet recorded)."""
    from nexus_agents.actions.workspace import WorkspaceIntegration

    ledger = DeliveryLedger(workspace).latest()
    states: list[Delivery] = []
    for row in WorkspaceIntegration(workspace).records():
        key = str(row.get("idempotency_key"))
        sent = ledger.pop(key, None)
        if sent is not None:
            states.append(sent.model_copy(update={"status": "delivered", "last_error": None}))
            continue
        try:
            states.append(
                Delivery(
                    key=key,
                    run_id=str(row.get("run_id")),
                    step_id=str(row.get("step_id")),
                    kind=row.get("kind"),  # type: ignore[arg-type]
                    status="delivered",
                    at=str(row.get("executed_at") or ""),
                    payload=row.get("payload") or {},
                )
            )
        except ValueError:
            continue  # a row written by hand with an unknown kind
    return [*states, *ledger.values()]
