"""Create a workspace folder: ``nexus.toml`` with commented defaults and ``data/``.

An empty workspace gets header-only CSV files (so the expected columns are visible)
and an empty ``feedback.jsonl``; every KPI then reports ``no_data``.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from nexus_agents.config import CONFIG_FILE
from nexus_agents.data.schema import TABLES
from nexus_agents.exceptions import ConfigError
from nexus_agents.kpi_catalog import CATALOG


def config_text(product_name: str, timezone: str, as_of: datetime | None = None) -> str:
    """The ``nexus.toml`` of a new workspace."""
    targets = "\n".join(
        f"# {d.key} = {d.target:g}  # {d.name} {d.comparator} {d.target:g}" for d in CATALOG
    )
    data = (
        f"[data]\nas_of = {as_of:%Y-%m-%dT%H:%M:%S}  # reports on this data default to this moment\n"
        if as_of
        else "# [data]\n# as_of = 2026-11-27T00:00:00  # fix 'now' for reports\n"
    )
    return f"""# nexus_agents workspace
[product]
name = "{product_name}"
timezone = "{timezone}"  # naive timestamps in data/ are read in this timezone
currency = "USD"
# gross_margin = 0.8  # used for LTV
# velocity = 40       # story points per sprint

[targets]
# Override a success-metric target by key (defaults from the playbook):
{targets}

{data}
[llm]
# base_url = "https://api.openai.com/v1"
# model = "gpt-4o-mini"
# The API key comes from NEXUS_LLM_API_KEY or OPENAI_API_KEY; do not write it here.
"""


def empty_files() -> dict[str, str]:
    """Header-only CSV files and an empty JSON Lines file for every table."""
    files: dict[str, str] = {}
    for spec in TABLES.values():
        files[spec.file] = (
            "" if spec.format == "jsonl" else ",".join(c.name for c in spec.columns) + "\n"
        )
    return files


def write_workspace(
    path: Path,
    files: dict[str, str],
    *,
    product_name: str,
    timezone: str,
    as_of: datetime | None = None,
    force: bool = False,
) -> None:
    """Write ``nexus.toml`` and ``data/<file>`` for each entry of ``files``.

    Refuses to replace an existing workspace unless ``force``. Each file is written to a
    temporary name first and renamed, so no file is left half-written.
    """
    toml = path / CONFIG_FILE
    data_dir = path / "data"
    clashes = [toml] if toml.exists() else []
    clashes += [data_dir / name for name in files if (data_dir / name).exists()]
    if clashes and not force:
        raise ConfigError(
            f"{path} already holds a workspace ({clashes[0].name} exists); use --force to replace it"
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    outputs = {toml: config_text(product_name, timezone, as_of)}
    outputs.update({data_dir / name: text for name, text in files.items()})
    for target, text in outputs.items():
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(text, encoding="utf-8", newline="")
        os.replace(tmp, target)


def init_workspace(
    path: str | Path,
    *,
    force: bool = False,
    product_name: str = "My Product",
    timezone: str = "UTC",
) -> Path:
    """Create an empty workspace in ``path`` (created if needed)."""
    target = Path(path)
    write_workspace(
        target, empty_files(), product_name=product_name, timezone=timezone, force=force
    )
    return target
