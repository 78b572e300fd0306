"""Agents: ``prompts/*.md`` files loaded into validated :class:`AgentSpec` objects."""

from nexus_agents.agents.roster import Roster, load_agent_file, load_roster, parse_prompt_file
from nexus_agents.agents.spec import AgentSpec, CadenceRow

__all__ = [
    "AgentSpec",
    "CadenceRow",
    "Roster",
    "load_agent_file",
    "load_roster",
    "parse_prompt_file",
]
