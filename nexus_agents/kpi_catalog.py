"""The playbook's success metrics as plain data: what each KPI is called, who it judges,
its default target and the workspace tables it reads.

Nothing is computed here; ``nexus_agents.tools.kpis`` binds each entry to its query.
The workspace template (``nexus.toml``) lists these targets, which ``[targets]`` overrides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["CATALOG", "Comparator", "KpiSpec"]

Comparator = Literal[">", "<", ">=", "<="]


@dataclass(frozen=True)
class KpiSpec:
    key: str
    name: str
    category: str
    owner: str
    unit: str
    target: float
    comparator: Comparator
    tables: tuple[str, ...]


CATALOG: tuple[KpiSpec, ...] = (
    KpiSpec(
        "uptime",
        "System uptime",
        "Reliability",
        "infrastructure_maintainer",
        "%",
        99.9,
        ">",
        ("uptime_checks",),
    ),
    KpiSpec(
        "mttr", "MTTR", "Reliability", "infrastructure_maintainer", "min", 30, "<", ("incidents",)
    ),
    KpiSpec(
        "mom_user_growth", "MoM user growth", "Growth", "growth_hacker", "%", 20, ">", ("activity",)
    ),
    KpiSpec(
        "activation_rate",
        "Activation rate",
        "Growth",
        "analytics_reporter",
        "%",
        60,
        ">",
        ("users",),
    ),
    KpiSpec(
        "retention_d7",
        "Day 7 retention",
        "Retention",
        "analytics_reporter",
        "%",
        40,
        ">",
        ("users", "activity"),
    ),
    KpiSpec(
        "retention_d30",
        "Day 30 retention",
        "Retention",
        "analytics_reporter",
        "%",
        20,
        ">",
        ("users", "activity"),
    ),
    KpiSpec(
        "ltv_cac",
        "LTV:CAC ratio",
        "Financial",
        "finance_tracker",
        "x",
        3,
        ">",
        ("subscriptions", "marketing_spend"),
    ),
    KpiSpec(
        "portfolio_roi", "Portfolio ROI", "Financial", "studio_producer", "%", 25, ">", ("finance",)
    ),
    KpiSpec("nps", "NPS score", "Quality", "feedback_synthesizer", "", 50, ">", ("nps",)),
    KpiSpec(
        "support_first_response_sla",
        "Support first-response SLA",
        "Quality",
        "support_responder",
        "%",
        95,
        ">=",
        ("tickets",),
    ),
    KpiSpec(
        "support_resolution_time",
        "Support resolution time",
        "Quality",
        "support_responder",
        "h",
        4,
        "<",
        ("tickets",),
    ),
    KpiSpec(
        "regulatory_adherence",
        "Regulatory adherence",
        "Compliance",
        "legal_compliance_checker",
        "%",
        98,
        ">",
        ("compliance",),
    ),
    KpiSpec(
        "deployment_frequency",
        "Deployment frequency",
        "Efficiency",
        "devops_automator",
        "/day",
        2,
        ">=",
        ("deployments",),
    ),
    KpiSpec(
        "process_improvement",
        "Process improvement",
        "Efficiency",
        "workflow_optimizer",
        "%",
        20,
        ">=",
        ("deployments",),
    ),
)
"""Every KPI in report order; targets are the playbook's (first-response SLA 95% is this
project's default: the playbook names the SLA but no attainment target)."""
