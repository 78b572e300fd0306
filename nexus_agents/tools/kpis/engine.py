"""What every KPI plugs into: the definition, the context a query runs in, the result
types and the met/missed/no_data judgement.

A period is ``[start, end)`` in workspace time; event-based KPIs count events in
``[start, min(end, as_of))`` so a running period never counts the future. A zero
denominator, a missing file or an empty window gives ``status = "no_data"`` with a
``detail`` saying why.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from nexus_agents.artifacts.facts import KpiValue
from nexus_agents.kpi_catalog import Comparator, KpiSpec
from nexus_agents.periods import Period
from nexus_agents.tools.kpis.arithmetic import percent

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "Comparator",
    "KPIContext",
    "KPIDefinition",
    "KPIGroup",
    "KPIReport",
    "KPIResult",
    "Status",
    "judge",
]

Status = Literal["met", "missed", "no_data"]

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    "<": operator.lt,
    ">=": operator.ge,
    "<=": operator.le,
}


class KPIGroup(BaseModel):
    """The KPI for one group (a service, a channel, a severity ...)."""

    model_config = ConfigDict(frozen=True, allow_inf_nan=False)

    group: str
    value: float | None
    numerator: float | None = None
    denominator: float | None = None
    sample_size: int = 0


class KPIResult(BaseModel):
    """One success metric over one period, judged against its target. Never inf or NaN:
    a value that overflows is None with the reason in ``detail`` ("n/a: ...")."""

    model_config = ConfigDict(frozen=True, allow_inf_nan=False)

    key: str
    name: str
    category: str
    owner: str = Field(description="slug of the agent judged by this KPI")
    value: float | None
    unit: str
    target: float
    comparator: Comparator
    status: Status
    period: str
    numerator: float | None = None
    denominator: float | None = None
    sample_size: int = 0
    detail: str = ""
    breakdown: list[KPIGroup] = Field(default_factory=list)

    def to_kpi_value(self) -> KpiValue:
        """The artifact-side fact for this KPI."""
        return KpiValue(
            name=self.name,
            value=self.value,
            unit=self.unit,
            target=self.target,
            direction="lower_is_better" if self.comparator in ("<", "<=") else "higher_is_better",
            meets_target=None if self.status == "no_data" else self.status == "met",
        )


class KPIReport(BaseModel):
    """Every KPI for one period, as of one moment (workspace time)."""

    period: str
    period_start: datetime
    period_end: datetime
    as_of: datetime
    timezone: str
    results: list[KPIResult]

    def by_key(self) -> dict[str, KPIResult]:
        return {r.key: r for r in self.results}

    def count(self, status: Status) -> int:
        return sum(1 for r in self.results if r.status == status)


@dataclass(frozen=True)
class KPIDefinition(KpiSpec):
    """A catalogue entry bound to the function that computes it."""

    compute: Callable[[KPIContext, KPIDefinition], KPIResult]
    doc: str = ""


@dataclass
class KPIContext:
    """What a KPI function needs: an open connection and the time frame."""

    conn: duckdb.DuckDBPyConnection
    period: Period
    as_of: datetime
    present: frozenset[str] = frozenset()
    targets: dict[str, float] = field(default_factory=dict)
    gross_margin: float = 0.8

    @property
    def window_end(self) -> datetime:
        return min(self.period.end, self.as_of)

    @property
    def window(self) -> tuple[datetime, datetime]:
        return self.period.start, self.window_end

    def missing(self, *tables: str) -> str | None:
        gone = [t for t in tables if t not in self.present]
        if not gone:
            return None
        from nexus_agents.data.schema import TABLES

        return "no data: " + ", ".join(f"data/{TABLES[t].file}" for t in gone) + " missing"

    def one(self, sql: str, params: list[Any]) -> tuple[Any, ...]:
        row = self.conn.execute(sql, params).fetchone()
        assert row is not None
        return row

    def result(
        self,
        kpi: KPIDefinition,
        value: float | None,
        *,
        numerator: float | None = None,
        denominator: float | None = None,
        sample_size: int = 0,
        detail: str = "",
        breakdown: list[KPIGroup] | None = None,
    ) -> KPIResult:
        target = float(self.targets.get(kpi.key, kpi.target))
        overflowed = [
            name
            for name, number in (
                ("value", value),
                ("numerator", numerator),
                ("denominator", denominator),
            )
            if not _finite(number)
        ]
        if overflowed:
            # e.g. a revenue near the float limit: ROI is not a number, not "inf % met"
            value = numerator = denominator = None
            detail = f"n/a: {' and '.join(overflowed)} not a finite number; {detail}"
        groups = [
            g
            if _finite(g.value) and _finite(g.numerator) and _finite(g.denominator)
            else g.model_copy(update={"value": None, "numerator": None, "denominator": None})
            for g in breakdown or []
        ]
        return KPIResult(
            key=kpi.key,
            name=kpi.name,
            category=kpi.category,
            owner=kpi.owner,
            value=value,
            unit=kpi.unit,
            target=target,
            comparator=kpi.comparator,
            status=judge(value, target, kpi.comparator),
            period=self.period.label,
            numerator=numerator,
            denominator=denominator,
            sample_size=sample_size,
            detail=detail,
            breakdown=groups,
        )

    def share(
        self,
        kpi: KPIDefinition,
        part: int,
        whole: int,
        *,
        detail: str,
        breakdown: list[KPIGroup] | None = None,
    ) -> KPIResult:
        """A percentage KPI: ``part`` of ``whole``, the sample being the whole."""
        return self.result(
            kpi,
            percent(part, whole),
            numerator=part,
            denominator=whole,
            sample_size=whole,
            detail=detail,
            breakdown=breakdown,
        )


def _finite(number: float | None) -> bool:
    return number is None or math.isfinite(number)


def judge(value: float | None, target: float, comparator: Comparator) -> Status:
    if value is None:
        return "no_data"
    return "met" if _COMPARE[comparator](value, target) else "missed"
