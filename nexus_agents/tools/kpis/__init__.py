"""The playbook's success metrics, computed from the workspace data.

- ``engine``: the definition, context and result types every KPI plugs into;
- ``arithmetic``: the pure formulas (percent, NPS, LTV:CAC ...);
- ``sql``: one DuckDB aggregate per KPI;
- ``definitions``: ``KPIS``, the catalogue (``nexus_agents.kpi_catalog``) bound to the queries;
- ``suite``: ``compute_kpi`` / ``compute_kpis`` for a period;
- ``model_tools``: the ``@tool`` functions a model may call (importing this package
  registers them).
"""

from nexus_agents.tools.kpis import model_tools
from nexus_agents.tools.kpis.arithmetic import (
    ltv_to_cac,
    nps_value,
    percent,
    relative_change_pct,
)
from nexus_agents.tools.kpis.definitions import KPIS, kpi_tables
from nexus_agents.tools.kpis.engine import (
    Comparator,
    KPIContext,
    KPIDefinition,
    KPIGroup,
    KPIReport,
    KPIResult,
    Status,
    judge,
)
from nexus_agents.tools.kpis.model_tools import (
    KpiReportInput,
    KpiSnapshot,
    KpiValueInput,
    UptimeSummary,
)
from nexus_agents.tools.kpis.sql import SLA_FIRST_RESPONSE_HOURS
from nexus_agents.tools.kpis.suite import (
    compute_kpi,
    compute_kpis,
    last_complete_month,
    open_context,
)

__all__ = [
    "KPIS",
    "SLA_FIRST_RESPONSE_HOURS",
    "Comparator",
    "KPIContext",
    "KPIDefinition",
    "KPIGroup",
    "KPIReport",
    "KPIResult",
    "KpiReportInput",
    "KpiSnapshot",
    "KpiValueInput",
    "Status",
    "UptimeSummary",
    "compute_kpi",
    "compute_kpis",
    "judge",
    "kpi_tables",
    "last_complete_month",
    "ltv_to_cac",
    "model_tools",
    "nps_value",
    "open_context",
    "percent",
    "relative_change_pct",
]
