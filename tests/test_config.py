from __future__ import annotations

from pathlib import Path

import pytest

from nexus_agents.config import load_config
from nexus_agents.exceptions import ConfigError


def _write(ws: Path, text: str) -> None:
    (ws / "nexus.toml").write_text(text, encoding="utf-8")


def test_file_values_are_read(tmp_path: Path) -> None:
    _write(
        tmp_path,
        '[product]\nname = "Acme"\ntimezone = "Europe/Berlin"\n[llm]\nmodel = "m-file"\n'
        '[targets]\nuptime = 99.5\n',
    )
    cfg = load_config(tmp_path, env={})
    assert cfg.product.name == "Acme"
    assert cfg.product.timezone == "Europe/Berlin"
    assert cfg.llm.model == "m-file"
    assert cfg.targets == {"uptime": 99.5}


def test_environment_wins_over_file(tmp_path: Path) -> None:
    _write(tmp_path, '[llm]\nmodel = "m-file"\nbase_url = "http://file/v1"\n')
    cfg = load_config(
        tmp_path,
        env={"NEXUS_MODEL": "m-env", "NEXUS_LLM_BASE_URL": "http://env/v1"},
    )
    assert cfg.llm.model == "m-env"
    assert cfg.llm.base_url == "http://env/v1"


def test_api_key_falls_back_to_openai_variable_and_nexus_variable_wins(tmp_path: Path) -> None:
    cfg = load_config(tmp_path, env={"OPENAI_API_KEY": "sk-openai"})
    assert cfg.llm.api_key is not None
    assert cfg.llm.api_key.get_secret_value() == "sk-openai"
    cfg = load_config(tmp_path, env={"OPENAI_API_KEY": "sk-openai", "NEXUS_LLM_API_KEY": "sk-nexus"})
    assert cfg.llm.api_key is not None
    assert cfg.llm.api_key.get_secret_value() == "sk-nexus"


def test_secrets_never_appear_in_dumps_or_repr(tmp_path: Path) -> None:
    cfg = load_config(
        tmp_path,
        env={"NEXUS_LLM_API_KEY": "sk-very-secret", "NEXUS_DATABASE_URL": "postgresql://u:pw-secret@h/db"},
    )
    text = repr(cfg) + str(cfg.redacted()) + cfg.model_dump_json()
    assert "sk-very-secret" not in text
    assert "pw-secret" not in text


def test_workspace_from_environment(tmp_path: Path) -> None:
    _write(tmp_path, '[product]\nname = "FromEnv"\n')
    cfg = load_config(env={"NEXUS_WORKSPACE": str(tmp_path)})
    assert cfg.workspace == tmp_path
    assert cfg.product.name == "FromEnv"


def test_bad_field_names_file_and_field(tmp_path: Path) -> None:
    _write(tmp_path, "[product]\ngross_margin = 3\n")
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path, env={})
    assert "nexus.toml" in str(err.value)
    assert "product.gross_margin" in str(err.value)


def test_bad_toml_is_a_config_error(tmp_path: Path) -> None:
    _write(tmp_path, "[product\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(tmp_path, env={})


def test_overrides_win(tmp_path: Path) -> None:
    cfg = load_config(tmp_path, env={"NEXUS_MODEL": "m-env"}, overrides={"llm.model": "m-override"})
    assert cfg.llm.model == "m-override"
