"""Constants shared by the mock-server tests (importable, unlike conftest)."""

from __future__ import annotations

from collections.abc import Callable

import openai

API_KEY = "sk-mock-SECRET-0123456789abcdef"

ClientFactory = Callable[..., openai.AsyncOpenAI]
