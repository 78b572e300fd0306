"""Shared test fixtures. No test may reach a real model endpoint."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_real_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's real keys or endpoints."""
    for var in (
        "OPENAI_API_KEY",
        "NEXUS_LLM_API_KEY",
        "NEXUS_LLM_BASE_URL",
        "NEXUS_MODEL",
        "NEXUS_WORKSPACE",
        "NEXUS_DATABASE_URL",
    ):
        monkeypatch.delenv(var, raising=False)
