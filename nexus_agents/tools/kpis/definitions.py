"""Every KPI of the playbook: its catalogue entry bound to the query that computes it."""

from __future__ import annotations

from collections.abc import Callable

from nexus_agents.kpi_catalog import CATALOG, KpiSpec
from nexus_agents.tools.kpis import sql
from nexus_agents.tools.kpis.engine import KPIContext, KPIDefinition, KPIResult

__all__ = ["KPIS", "kpi_tables"]

_QUERIES: dict[str, Callable[[KPIContext, KPIDefinition], KPIResult]] = {
    "uptime": sql.uptime,
    "mttr": sql.mttr,
    "mom_user_growth": sql.mom_user_growth,
    "activation_rate": sql.activation_rate,
    "retention_d7": sql.retention_d7,
    "retention_d30": sql.retention_d30,
    "ltv_cac": sql.ltv_cac,
    "portfolio_roi": sql.portfolio_roi,
    "nps": sql.nps,
    "support_first_response_sla": sql.support_first_response_sla,
    "support_resolution_time": sql.support_resolution_time,
    "regulatory_adherence": sql.regulatory_adherence,
    "deployment_frequency": sql.deployment_frequency,
    "process_improvement": sql.process_improvement,
}


def _bind(spec: KpiSpec) -> KPIDefinition:
    compute = _QUERIES[spec.key]
    doc = (compute.__doc__ or "").strip().splitlines()[0]
    return KPIDefinition(**vars(spec), compute=compute, doc=doc)


KPIS: dict[str, KPIDefinition] = {spec.key: _bind(spec) for spec in CATALOG}
"""Every KPI by key, in report order; ``[targets]`` in ``nexus.toml`` overrides a target."""


def kpi_tables(keys: list[str] | None = None) -> list[str]:
    """The tables the given KPIs read (all KPIs by default)."""
    wanted = [KPIS[k] for k in keys] if keys else list(KPIS.values())
    return sorted({t for d in wanted for t in d.tables})
