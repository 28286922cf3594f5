import pytest

from xlexec.config import config_from_dict, load_config
from xlexec.errors import ConfigError


def test_defaults_without_file(tmp_path):
    cfg = load_config(None, cwd=tmp_path)
    assert cfg.costs_bps == 1 and cfg.slippage_bps == 2
    assert cfg.execution.broker == "paper" and cfg.execution.max_order_size_usd == 10000
    assert cfg.live_dir == (tmp_path / "live").resolve()


def test_repo_config_yaml_is_valid_and_matches_defaults(tmp_path, monkeypatch):
    import pathlib

    repo_cfg = pathlib.Path(__file__).resolve().parents[1] / "config.yaml"
    cfg = load_config(repo_cfg, cwd=tmp_path)
    d = config_from_dict({}, base_dir=tmp_path)
    assert cfg.model_dump(exclude={"source"}) == d.model_dump(exclude={"source"})


def test_unknown_key_names_path(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("execution:\n  max_daily_trade: 5\n")
    with pytest.raises(ConfigError, match=r"execution\.max_daily_trade: unknown key"):
        load_config(p)


def test_wrong_type_names_path(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("execution:\n  max_daily_trades: lots\n")
    with pytest.raises(ConfigError, match=r"execution\.max_daily_trades:"):
        load_config(p)


def test_env_interpolation_and_secret_never_printed(tmp_path, monkeypatch):
    monkeypatch.setenv("ALPACA_API_KEY", "PK_TEST_KEY_1234567890")
    cfg = config_from_dict({"execution": {"alpaca": {"api_key": "${ALPACA_API_KEY}"}}})
    assert cfg.execution.alpaca.api_key.get_secret_value() == "PK_TEST_KEY_1234567890"
    assert "PK_TEST_KEY" not in repr(cfg) and "PK_TEST_KEY" not in str(cfg.model_dump())


def test_literal_secret_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"execution\.alpaca\.api_secret.*ENV"):
        config_from_dict({"execution": {"alpaca": {"api_secret": "abcdef123456"}}})


def test_relative_live_dir_resolves_against_cwd(tmp_path):
    cfg = config_from_dict({"live_dir": "data/live"}, base_dir=tmp_path)
    assert cfg.live_dir == (tmp_path / "data" / "live").resolve()


def test_yaml_syntax_error_names_row(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("execution:\n  broker: [paper\n")
    with pytest.raises(ConfigError, match="row"):
        load_config(p)
