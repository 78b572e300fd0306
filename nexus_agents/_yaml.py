"""YAML parsing through libyaml's C loader when PyYAML was built with it (an order of
magnitude faster than the pure-Python loader, same safe subset and error marks)."""

from __future__ import annotations

from typing import Any

import yaml

_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """``yaml.safe_load`` with the fastest safe loader available."""
    return yaml.load(text, Loader=_SafeLoader)
