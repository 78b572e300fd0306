"""The workspace data files: one ``TableSpec`` per file, with typed, constrained columns.

Types (as written in the file -> as loaded):

=============  ===========================================  ==========================
type           accepted text                                loaded as
=============  ===========================================  ==========================
``str``        anything                                     VARCHAR
``int``        ``-12``, ``42``                              BIGINT
``float``      any finite decimal number                    DOUBLE
``bool``       ``1``/``0``/``true``/``false``               BOOLEAN
``date``       ``2026-11-27``                               DATE
``month``      ``2026-11``                                  DATE (first of the month)
``timestamp``  ISO 8601; naive = workspace timezone,        TIMESTAMP (naive, local
               with an offset = converted to it             to the workspace)
=============  ===========================================  ==========================

``required`` means the column must be in the header; ``nullable`` means a cell may be
empty. Extra columns are allowed and kept as text.

Values that cannot be true are errors naming file, line and column: a negative amount or
count, an amount above ``MAX_AMOUNT`` (a typo or a hostile file, never a real figure),
an event before the one it follows (activated before signing up, answered before the
ticket was opened, an experiment ending before it started).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

ColumnType = Literal["str", "int", "float", "bool", "date", "month", "timestamp"]

SQL_TYPES: dict[str, str] = {
    "str": "VARCHAR",
    "int": "BIGINT",
    "float": "DOUBLE",
    "bool": "BOOLEAN",
    "date": "DATE",
    "month": "DATE",
    "timestamp": "TIMESTAMP",
}


class Column(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    type: ColumnType = "str"
    required: bool = True
    nullable: bool = False
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False
    choices: tuple[str, ...] | None = None

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.type]


class RowCheck(BaseModel):
    """A condition across columns; ``sql`` is true for a bad row (typed column names)."""

    model_config = ConfigDict(frozen=True)

    column: str
    sql: str
    message: str


class TableSpec(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    file: str
    columns: tuple[Column, ...]
    format: Literal["csv", "jsonl"] = "csv"
    row_checks: tuple[RowCheck, ...] = ()
    description: str = ""

    @property
    def path(self) -> str:
        """Path relative to the workspace."""
        return f"data/{self.file}"

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


def _c(name: str, type_: ColumnType = "str", **kw: object) -> Column:
    return Column(name=name, type=type_, **kw)  # type: ignore[arg-type]


def _text(name: str) -> Column:
    """A free-text column that may be absent or empty."""
    return Column(name=name, required=False, nullable=True)


_COUNT = {"min": 0}

MAX_AMOUNT = 1e15
"""Largest money amount accepted in any currency unit; sums of such amounts stay finite."""

_MONEY = {"min": 0, "max": MAX_AMOUNT}

TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TableSpec(
            name="uptime_checks",
            file="uptime_checks.csv",
            description="one synthetic health check per row",
            columns=(_c("checked_at", "timestamp"), _c("service"), _c("ok", "bool")),
        ),
        TableSpec(
            name="incidents",
            file="incidents.csv",
            description="incidents; empty resolved_at = still open",
            columns=(
                _c("id"),
                _c("title"),
                _c("service"),
                _c("severity", choices=("P0", "P1", "P2", "P3")),
                _c("detected_at", "timestamp"),
                _c("resolved_at", "timestamp", nullable=True),
                _text("description"),
            ),
            row_checks=(
                RowCheck(
                    column="resolved_at",
                    sql="resolved_at < detected_at",
                    message="resolved_at is before detected_at",
                ),
            ),
        ),
        TableSpec(
            name="users",
            file="users.csv",
            description="sign-ups; empty activated_at = not activated",
            columns=(
                _c("user_id"),
                _c("signup_at", "timestamp"),
                _c("activated_at", "timestamp", nullable=True),
                _c("channel", nullable=True),
            ),
            row_checks=(
                RowCheck(
                    column="activated_at",
                    sql="activated_at < signup_at",
                    message="activated_at is before signup_at",
                ),
            ),
        ),
        TableSpec(
            name="activity",
            file="activity.csv",
            description="one row per user and day with activity",
            columns=(_c("user_id"), _c("active_on", "date")),
        ),
        TableSpec(
            name="subscriptions",
            file="subscriptions.csv",
            description="monthly recurring revenue per customer and month",
            columns=(_c("month", "month"), _c("customer_id"), _c("mrr", "float", **_MONEY)),
        ),
        TableSpec(
            name="marketing_spend",
            file="marketing_spend.csv",
            description="marketing spend per month and channel",
            columns=(_c("month", "month"), _c("channel"), _c("amount", "float", **_MONEY)),
        ),
        TableSpec(
            name="tickets",
            file="tickets.csv",
            description="support tickets; empty first_response_at = not answered yet",
            columns=(
                _c("id"),
                _c("created_at", "timestamp"),
                _c("first_response_at", "timestamp", nullable=True),
                _c("resolved_at", "timestamp", nullable=True),
                _c("priority", nullable=True),
                _c("channel", nullable=True),
                _c("subject", nullable=True),
                _text("body"),
            ),
            row_checks=(
                RowCheck(
                    column="first_response_at",
                    sql="first_response_at < created_at",
                    message="first_response_at is before created_at",
                ),
                RowCheck(
                    column="resolved_at",
                    sql="resolved_at < created_at",
                    message="resolved_at is before created_at",
                ),
            ),
        ),
        TableSpec(
            name="nps",
            file="nps.csv",
            description="NPS survey answers",
            columns=(
                _c("responded_at", "timestamp"),
                _c("user_id", nullable=True),
                _c("score", "int", min=0, max=10),
                _text("comment"),
            ),
        ),
        TableSpec(
            name="deployments",
            file="deployments.csv",
            description="deployments with their outcome and lead time",
            columns=(
                _c("deployed_at", "timestamp"),
                _c("service"),
                _c("version", nullable=True),
                _c("status", choices=("success", "failed", "rolled_back")),
                _c("lead_time_hours", "float", nullable=True, **_COUNT),
            ),
        ),
        TableSpec(
            name="experiments",
            file="experiments.csv",
            description="A/B tests, one row per variant, control row first",
            columns=(
                _c("experiment_id"),
                _c("variant"),
                _c("exposures", "int", **_COUNT),
                _c("conversions", "int", **_COUNT),
                _c("started_on", "date", nullable=True),
                _c("ended_on", "date", nullable=True),
            ),
            row_checks=(
                RowCheck(
                    column="conversions",
                    sql="conversions > exposures",
                    message="more conversions than exposures",
                ),
                RowCheck(
                    column="ended_on",
                    sql="ended_on < started_on",
                    message="ended_on is before started_on",
                ),
            ),
        ),
        TableSpec(
            name="backlog",
            file="backlog.csv",
            description="backlog items with RICE inputs",
            columns=(
                _c("id"),
                _c("title"),
                # RICE inputs may be empty: an item added by a workflow (an incident
                # follow-up, a prevention action) waits unscored until someone rates it.
                _c("reach", "float", nullable=True, **_COUNT),
                _c("impact", "float", nullable=True, **_COUNT),
                _c("confidence", "float", nullable=True, min=0, max=1),
                _c("effort", "float", nullable=True, min=0, min_exclusive=True),
                _c("status", nullable=True),
                _c("source", nullable=True),
            ),
        ),
        TableSpec(
            name="feedback",
            file="feedback.jsonl",
            format="jsonl",
            description="free-text feedback, one JSON object per line",
            columns=(
                _c("id"),
                _c("source"),
                _c("created_at", "timestamp"),
                _c("text"),
                _c("rating", "float", required=False, nullable=True, min=0, max=10),
            ),
        ),
        TableSpec(
            name="finance",
            file="finance.csv",
            description="monthly revenue and cost per category with budget",
            columns=(
                _c("month", "month"),
                _c("kind", choices=("revenue", "cost")),
                _c("category"),
                # a cost or a revenue is never negative: a credit lowers the month's amount
                _c("amount", "float", **_MONEY),
                _c("budget", "float", nullable=True, **_MONEY),
            ),
        ),
        TableSpec(
            name="compliance",
            file="compliance.csv",
            description="compliance controls and their status",
            columns=(
                _c("control_id"),
                _c("framework"),
                _c("requirement", nullable=True),
                _c("applicable", "bool"),
                _c("status", choices=("compliant", "non_compliant", "in_progress")),
                _c("due_on", "date", nullable=True),
                _text("evidence"),
            ),
        ),
        TableSpec(
            name="content",
            file="content.csv",
            description="published content and its reach",
            columns=(
                _c("published_at", "timestamp"),
                _c("platform"),
                _c("title", nullable=True),
                _c("impressions", "int", **_COUNT),
                _c("engagements", "int", **_COUNT),
            ),
        ),
    )
}


def get_table(name: str) -> TableSpec:
    try:
        return TABLES[name]
    except KeyError:
        from nexus_agents.exceptions import UnknownNameError

        raise UnknownNameError("table", name, list(TABLES)) from None
