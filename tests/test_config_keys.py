"""Every config key does something: no field of the model is left unread, removed keys are refused."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from tests import cli_fork
from xlexec.config import REMOVED_KEYS, Config, load_config
from xlexec.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "xlexec"


def _fields(model: type[BaseModel], prefix: str = "") -> list[tuple[str, str]]:
    """(key path, field name) of every leaf key of ``model``."""
    out = []
    for name, f in model.model_fields.items():
        if f.exclude:
            continue
        ann = f.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out += _fields(ann, f"{prefix}{name}.")
        else:
            out.append((f"{prefix}{name}", name))
    return out


def test_every_config_key_is_read_outside_config_py():
    """Each leaf key's name appears as an attribute read (``.name``) somewhere in the package
    outside config.py: a key nothing reads would be accepted and ignored."""
    code = "\n".join(p.read_text(encoding="utf-8") for p in PKG.rglob("*.py") if p.name != "config.py")
    unread = [path for path, name in _fields(Config) if not re.search(rf"\.{name}\b", code)]
    assert unread == []


@pytest.mark.parametrize(
    "key,text",
    [
        ("execution.retry_failed_orders", "execution:\n  retry_failed_orders: false\n"),
        ("execution.td", "execution:\n  td:\n    client_id: ${TD_CLIENT_ID}\n"),
    ],
)
def test_a_removed_key_is_refused_naming_it(tmp_path, key, text):
    p = tmp_path / "config.yaml"
    p.write_text("live_dir: live\n" + text)
    with pytest.raises(ConfigError) as e:
        load_config(p, cwd=tmp_path)
    assert f"{key}: this key was removed" in str(e.value)


def test_the_cli_exits_2_on_a_removed_key_with_one_line(tmp_path):
    (tmp_path / "config.yaml").write_text("execution:\n  broker: paper\n  retry_failed_orders: true\n")
    trades = tmp_path / "trades.csv"
    trades.write_text("symbol\n")
    p = cli_fork.run(
        [sys.executable, "-m", "xlexec", "validate", str(trades)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "execution.retry_failed_orders" in lines[0] and "removed" in lines[0], p.stderr


def _yaml_paths(node, prefix: str = "") -> set[str]:
    out = set()
    for k, v in (node or {}).items():
        out.add(f"{prefix}{k}")
        if isinstance(v, dict):
            out |= _yaml_paths(v, f"{prefix}{k}.")
    return out


def test_removed_keys_are_gone_from_the_model_and_the_repo_config():
    leaf_paths = {path for path, _ in _fields(Config)}
    yaml_paths = _yaml_paths(yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8")))
    assert "execution.max_daily_trades" in yaml_paths and "execution.alpaca.base_url" in yaml_paths
    for key in REMOVED_KEYS:
        assert not any(p == key or p.startswith(key + ".") for p in leaf_paths), key
        assert key not in yaml_paths, key
