"""Configuration: ``nexus.toml`` in the workspace, overridden by environment variables.

Environment variables (they win over the file):

=====================  ==============================================
``NEXUS_LLM_BASE_URL``  any OpenAI-compatible endpoint (``.../v1``)
``NEXUS_LLM_API_KEY``   API key; falls back to ``OPENAI_API_KEY``
``NEXUS_MODEL``         default model id for every agent
``NEXUS_WORKSPACE``     workspace folder (default: current directory)
``NEXUS_DATABASE_URL``  Postgres URL for runs and schedules (default: SQLite in the workspace)
=====================  ==============================================
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from nexus_agents.exceptions import ConfigError

CONFIG_FILE = "nexus.toml"


class ModelPrice(BaseModel):
    """USD per one million tokens."""

    model_config = ConfigDict(extra="forbid")

    input: float = Field(ge=0)
    output: float = Field(ge=0)


class LLMConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_url: str | None = None
    api_key: SecretStr | None = None
    model: str = "gpt-4o-mini"
    timeout_s: float = Field(default=60.0, gt=0)
    max_attempts: int = Field(default=4, ge=1, le=10)
    backoff_base_s: float = Field(default=0.5, ge=0)
    backoff_max_s: float = Field(default=20.0, ge=0)
    max_concurrency: int = Field(default=8, ge=1)
    max_tool_rounds: int = Field(default=5, ge=0)
    repair_rounds: int = Field(default=2, ge=0, le=3)
    temperature: float | None = None
    prices: dict[str, ModelPrice] = Field(default_factory=dict)


class ProductConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = "My Product"
    timezone: str = "UTC"
    currency: str = "USD"
    gross_margin: float = Field(default=0.8, gt=0, le=1)
    velocity: float = Field(default=40.0, gt=0, description="story points per sprint")


class DataConfig(BaseModel):
    """``[data]``: how the workspace data is read."""

    model_config = ConfigDict(extra="forbid")

    as_of: datetime | None = Field(
        default=None,
        description="fixed 'now' (workspace time) for reports on this data, e.g. a demo",
    )
    max_file_mb: int = Field(
        default=1024, ge=1, description="largest data file read, in MB (a larger one is an error)"
    )


class RunLimits(BaseModel):
    """Per-run budgets; ``None`` means unlimited."""

    model_config = ConfigDict(extra="forbid")

    max_model_calls: int | None = Field(default=200, ge=1)
    max_tokens: int | None = Field(default=2_000_000, ge=1)
    max_cost_usd: float | None = Field(default=25.0, gt=0)


_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
SLACK_KINDS = ("notify", "status_post")
"""Action kinds a ``flavour = "slack"`` target can format as a Slack message."""


class WebhookTarget(BaseModel):
    """``[integrations.<kind>]``: where actions of one kind are delivered.

    The URL is a secret (a Slack incoming-webhook URL is its own credential): give it in
    ``url`` or, better, name the environment variable holding it in ``url_env``.
    """

    model_config = ConfigDict(extra="forbid")

    url: SecretStr | None = None
    url_env: str | None = Field(default=None, pattern=_ENV_NAME)
    flavour: Literal["webhook", "slack"] = "webhook"
    secret_env: str | None = Field(
        default=None, pattern=_ENV_NAME, description="overrides [integrations] secret_env"
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parts = urlsplit(value.get_secret_value())
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError("must be an http:// or https:// URL with a host")
        return value

    @model_validator(mode="after")
    def _one_url(self) -> WebhookTarget:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("give exactly one of 'url' and 'url_env'")
        return self


class IntegrationsConfig(BaseModel):
    """``[integrations]``: deliver actions to webhooks (see ``nexus_agents.actions.webhook``).

    A kind without a table here stays file-only (``actions.jsonl``, ``data/backlog.csv``).
    """

    model_config = ConfigDict(extra="forbid")

    secret_env: str | None = Field(
        default=None, pattern=_ENV_NAME, description="environment variable with the HMAC secret"
    )
    timeout_s: float = Field(default=10.0, gt=0)
    max_attempts: int = Field(default=4, ge=1, le=10)
    backoff_base_s: float = Field(default=0.5, ge=0)
    backoff_max_s: float = Field(default=10.0, ge=0)
    deploy: WebhookTarget | None = None
    publish: WebhookTarget | None = None
    status_post: WebhookTarget | None = None
    backlog_append: WebhookTarget | None = None
    notify: WebhookTarget | None = None

    @field_validator("deploy", "publish", "status_post", "backlog_append", "notify")
    @classmethod
    def _target_fits(cls, value: WebhookTarget | None, info: ValidationInfo) -> WebhookTarget | None:
        if value is None:
            return value
        if value.flavour == "slack" and info.field_name not in SLACK_KINDS:
            raise ValueError(f"flavour 'slack' formats only {' and '.join(SLACK_KINDS)} actions")
        if value.flavour == "webhook" and not (value.secret_env or info.data.get("secret_env")):
            raise ValueError(
                "a webhook is signed: set secret_env (here or in [integrations]) to the name "
                "of the environment variable holding the signing secret"
            )
        return value

    def target(self, kind: str) -> WebhookTarget | None:
        """The target of action ``kind``; None when it stays file-only."""
        found = getattr(self, kind, None)
        return found if isinstance(found, WebhookTarget) else None


class NexusConfig(BaseModel):
    """The whole configuration of one workspace."""

    model_config = ConfigDict(extra="forbid")

    workspace: Path = Path(".")
    product: ProductConfig = Field(default_factory=ProductConfig)
    targets: dict[str, float] = Field(default_factory=dict)
    llm: LLMConfig = Field(default_factory=LLMConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    limits: RunLimits = Field(default_factory=RunLimits)
    database_url: SecretStr | None = None
    schedule: dict[str, Any] = Field(default_factory=dict)
    approvals: dict[str, Any] = Field(default_factory=dict)
    integrations: IntegrationsConfig = Field(default_factory=IntegrationsConfig)

    def redacted(self) -> dict[str, Any]:
        """A JSON-safe dump with every secret masked (for ``nexus config`` and logs)."""
        return self.model_dump(mode="json")  # SecretStr dumps as '**********'


class _EnvSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    llm_base_url: str | None = Field(default=None, validation_alias="NEXUS_LLM_BASE_URL")
    llm_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("NEXUS_LLM_API_KEY", "OPENAI_API_KEY")
    )
    model: str | None = Field(default=None, validation_alias="NEXUS_MODEL")
    workspace: Path | None = Field(default=None, validation_alias="NEXUS_WORKSPACE")
    database_url: SecretStr | None = Field(default=None, validation_alias="NEXUS_DATABASE_URL")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def load_config(
    workspace: str | Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> NexusConfig:
    """Load the configuration of ``workspace``.

    Order (later wins): defaults, ``nexus.toml``, environment variables, ``overrides``.
    """
    source = dict(os.environ if env is None else env)
    # Empty variables count as unset (a common CI pattern is VAR="").
    source = {k: v for k, v in source.items() if v != ""}
    try:
        env_settings = _EnvSettings(**_env_kwargs(source))
    except ValidationError as exc:
        raise ConfigError(f"invalid environment variable: {exc.errors()[0]['msg']}") from None

    ws = Path(workspace) if workspace is not None else (env_settings.workspace or Path("."))
    data: dict[str, Any] = {}
    toml_path = ws / CONFIG_FILE
    if toml_path.is_file():
        data = _read_toml(toml_path)
    data["workspace"] = ws

    llm = dict(data.get("llm") or {})
    if env_settings.llm_base_url:
        llm["base_url"] = env_settings.llm_base_url
    if env_settings.llm_api_key:
        llm["api_key"] = env_settings.llm_api_key
    if env_settings.model:
        llm["model"] = env_settings.model
    data["llm"] = llm
    if env_settings.database_url:
        data["database_url"] = env_settings.database_url
    for key, value in (overrides or {}).items():
        _set_dotted(data, key, value)
    try:
        return NexusConfig.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"{toml_path}: field {field!r}: {err['msg']}") from None


def _env_kwargs(source: Mapping[str, str]) -> dict[str, str]:
    names = {
        "NEXUS_LLM_BASE_URL",
        "NEXUS_LLM_API_KEY",
        "OPENAI_API_KEY",
        "NEXUS_MODEL",
        "NEXUS_WORKSPACE",
        "NEXUS_DATABASE_URL",
    }
    picked = {k: v for k, v in source.items() if k.upper() in names}
    # NEXUS_LLM_API_KEY wins over OPENAI_API_KEY.
    if "NEXUS_LLM_API_KEY" in picked:
        picked.pop("OPENAI_API_KEY", None)
    return picked


def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = data
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
