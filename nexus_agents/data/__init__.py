"""Workspace data: schema, validated loading into DuckDB, typed rows, demo data.

Importing this package is cheap; DuckDB is imported only when a connection is opened.
"""

from nexus_agents.data.context import current_workspace, require_workspace, use_workspace
from nexus_agents.data.schema import TABLES, Column, TableSpec, get_table
from nexus_agents.data.workspace import Workspace

__all__ = [
    "TABLES",
    "Column",
    "TableSpec",
    "Workspace",
    "current_workspace",
    "get_table",
    "require_workspace",
    "use_workspace",
]
