"""The playbook's cadences as durable schedules.

Pure parts (``calendar``, ``planner``, ``jobs``, ``cron``) import no engine; the DBOS
engine lives in ``nexus_agents.schedule.engine`` and is imported only when needed.
"""

from nexus_agents.schedule.calendar import Calendar, load_calendar
from nexus_agents.schedule.jobs import CadenceJob, CatchUp, JobOutcome, JobStatus, Trigger
from nexus_agents.schedule.planner import Due, due, missed, thread_id
from nexus_agents.schedule.runner import JobRunner

__all__ = [
    "CadenceJob",
    "Calendar",
    "CatchUp",
    "Due",
    "JobOutcome",
    "JobRunner",
    "JobStatus",
    "Trigger",
    "due",
    "load_calendar",
    "missed",
    "thread_id",
]
