"""Typed rows of the workspace tables, for tools that work on records rather than SQL.

``read_rows(source, "backlog")`` returns ``list[BacklogRow]``; ``source`` is a
``Workspace`` (only that table is loaded) or an open DuckDB connection from
``Workspace.connect()``. Extra columns of the file are dropped here; use SQL for them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from pydantic import BaseModel, ConfigDict

from nexus_agents.data.loader import q
from nexus_agents.data.schema import get_table

if TYPE_CHECKING:
    import duckdb

    from nexus_agents.data.workspace import Workspace


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class UptimeCheckRow(_Row):
    checked_at: datetime
    service: str
    ok: bool


class IncidentRow(_Row):
    id: str
    title: str
    service: str
    severity: Literal["P0", "P1", "P2", "P3"]
    detected_at: datetime
    resolved_at: datetime | None
    description: str | None


class UserRow(_Row):
    user_id: str
    signup_at: datetime
    activated_at: datetime | None
    channel: str | None


class ActivityRow(_Row):
    user_id: str
    active_on: date


class SubscriptionRow(_Row):
    month: date
    customer_id: str
    mrr: float


class MarketingSpendRow(_Row):
    month: date
    channel: str
    amount: float


class TicketRow(_Row):
    id: str
    created_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    priority: str | None
    channel: str | None
    subject: str | None
    body: str | None


class NpsRow(_Row):
    responded_at: datetime
    user_id: str | None
    score: int
    comment: str | None


class DeploymentRow(_Row):
    deployed_at: datetime
    service: str
    version: str | None
    status: Literal["success", "failed", "rolled_back"]
    lead_time_hours: float | None


class ExperimentRow(_Row):
    experiment_id: str
    variant: str
    exposures: int
    conversions: int
    started_on: date | None
    ended_on: date | None


class BacklogRow(_Row):
    id: str
    title: str
    reach: float | None
    impact: float | None
    confidence: float | None
    effort: float | None
    status: str | None
    source: str | None

    @property
    def scored(self) -> bool:
        """True when every RICE input is filled in."""
        return None not in (self.reach, self.impact, self.confidence, self.effort)


class FeedbackRow(_Row):
    id: str
    source: str
    created_at: datetime
    text: str
    rating: float | None


class FinanceRow(_Row):
    month: date
    kind: Literal["revenue", "cost"]
    category: str
    amount: float
    budget: float | None


class ComplianceRow(_Row):
    control_id: str
    framework: str
    requirement: str | None
    applicable: bool
    status: Literal["compliant", "non_compliant", "in_progress"]
    due_on: date | None
    evidence: str | None


class ContentRow(_Row):
    published_at: datetime
    platform: str
    title: str | None
    impressions: int
    engagements: int


ROW_MODELS: dict[str, type[_Row]] = {
    "uptime_checks": UptimeCheckRow,
    "incidents": IncidentRow,
    "users": UserRow,
    "activity": ActivityRow,
    "subscriptions": SubscriptionRow,
    "marketing_spend": MarketingSpendRow,
    "tickets": TicketRow,
    "nps": NpsRow,
    "deployments": DeploymentRow,
    "experiments": ExperimentRow,
    "backlog": BacklogRow,
    "feedback": FeedbackRow,
    "finance": FinanceRow,
    "compliance": ComplianceRow,
    "content": ContentRow,
}

R = TypeVar("R", bound=_Row)
M = TypeVar("M", bound=BaseModel)


@overload
def read_rows(
    source: Workspace | duckdb.DuckDBPyConnection,
    table: str,
    *,
    where: str | None = None,
    params: list[Any] | None = None,
) -> list[_Row]: ...


@overload
def read_rows(
    source: Workspace | duckdb.DuckDBPyConnection,
    table: str,
    *,
    model: type[M],
    where: str | None = None,
    params: list[Any] | None = None,
    validate: bool = True,
) -> list[M]: ...


def read_rows(
    source: Workspace | duckdb.DuckDBPyConnection,
    table: str,
    *,
    model: type[BaseModel] | None = None,
    where: str | None = None,
    params: list[Any] | None = None,
    validate: bool = True,
) -> list[Any]:
    """All rows of ``table`` in file order, optionally filtered by an SQL ``where``.

    ``model`` (default: the table's row model) names the columns read, one per field.
    ``validate=False`` builds the records without checking each row again: the loader
    has already checked every cell, and DuckDB hands back exactly the declared Python
    types, so a caller reading many rows into plain records may skip that cost.
    Rows read from a ``Workspace`` are cached until its data changes (callers get their
    own list of the shared, frozen rows); rows read from a connection are not.
    """
    spec = get_table(table)
    return _read(source, spec.name, model or ROW_MODELS[spec.name], where, params, validate)


def _read(
    source: Workspace | duckdb.DuckDBPyConnection,
    table: str,
    model: type[M],
    where: str | None = None,
    params: list[Any] | None = None,
    validate: bool = True,
) -> list[M]:
    from nexus_agents.data.workspace import Workspace

    names = list(model.model_fields)
    sql = f"SELECT {', '.join(q(n) for n in names)} FROM {q(table)}"
    if where:
        sql += f" WHERE {where}"
    if isinstance(source, Workspace):
        workspace = source
        key = ("rows", table, model, where, tuple(params or ()), validate)
        try:
            hash(key)
        except TypeError:  # unhashable parameters: no caching
            return _query(workspace, table, sql, names, model, params, validate)
        return list(
            workspace.memoized(
                key,
                lambda: _query(workspace, table, sql, names, model, params, validate),
                tables=(table,),
            )
        )
    return _query(source, table, sql, names, model, params, validate)


def _query(
    source: Workspace | duckdb.DuckDBPyConnection,
    table: str,
    sql: str,
    names: list[str],
    model: type[M],
    params: list[Any] | None,
    validate: bool,
) -> list[M]:
    from nexus_agents.data.workspace import Workspace

    owned = isinstance(source, Workspace)
    conn = source.connect([table]) if isinstance(source, Workspace) else source
    try:
        records = conn.execute(sql, params or []).fetchall()
    finally:
        if owned:
            conn.close()
    if validate:
        return [model.model_validate(dict(zip(names, rec, strict=True))) for rec in records]
    return [model.model_construct(**dict(zip(names, rec, strict=True))) for rec in records]


def backlog_rows(source: Workspace | duckdb.DuckDBPyConnection) -> list[BacklogRow]:
    return _read(source, "backlog", BacklogRow)


def experiment_rows(source: Workspace | duckdb.DuckDBPyConnection) -> list[ExperimentRow]:
    return _read(source, "experiments", ExperimentRow)


def ticket_rows(source: Workspace | duckdb.DuckDBPyConnection) -> list[TicketRow]:
    return _read(source, "tickets", TicketRow)


def incident_rows(source: Workspace | duckdb.DuckDBPyConnection) -> list[IncidentRow]:
    return _read(source, "incidents", IncidentRow)


def finance_rows(source: Workspace | duckdb.DuckDBPyConnection) -> list[FinanceRow]:
    return _read(source, "finance", FinanceRow)


def subscription_rows(source: Workspace | duckdb.DuckDBPyConnection) -> list[SubscriptionRow]:
    return _read(source, "subscriptions", SubscriptionRow)


def marketing_spend_rows(
    source: Workspace | duckdb.DuckDBPyConnection,
) -> list[MarketingSpendRow]:
    return _read(source, "marketing_spend", MarketingSpendRow)


def feedback_rows(source: Workspace | duckdb.DuckDBPyConnection) -> list[FeedbackRow]:
    return _read(source, "feedback", FeedbackRow)


def compliance_rows(source: Workspace | duckdb.DuckDBPyConnection) -> list[ComplianceRow]:
    return _read(source, "compliance", ComplianceRow)


def content_rows(source: Workspace | duckdb.DuckDBPyConnection) -> list[ContentRow]:
    return _read(source, "content", ContentRow)


def deployment_rows(source: Workspace | duckdb.DuckDBPyConnection) -> list[DeploymentRow]:
    return _read(source, "deployments", DeploymentRow)


def nps_rows(source: Workspace | duckdb.DuckDBPyConnection) -> list[NpsRow]:
    return _read(source, "nps", NpsRow)
