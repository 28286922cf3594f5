"""Configuration: ``config.yaml`` (the guide's ``execution:`` block and more) into typed models.

* Unknown keys and wrong types are errors naming the key path (``execution.max_daily_trades``).
* Every key does something. Keys that once existed but that nothing read (see
  :data:`REMOVED_KEYS`) are refused with a line saying they were removed, so an old
  ``config.yaml`` never looks as if it set something it does not.
* ``${ENV_VAR}`` is replaced from the environment **only in secret fields** (:data:`SECRET_KEYS`:
  every credential is one); an unset variable becomes empty, so a paper-only setup needs no
  keys. ``${...}`` in any other value (a limit, a URL, ``live_dir``) is refused: the policy
  is what the file says, never what the environment of one run says.
* Secrets (API keys, tokens, account ids) are ``SecretStr``: they never print, and a literal
  secret written into the file (instead of ``${ENV_VAR}``) is refused.
* YAML anchors and aliases (``&a`` / ``*a``, ``<<: *a``) are refused: a few hundred bytes of
  nested aliases expand to billions of nodes (an "alias bomb"); a config needs none.
* A relative ``live_dir`` resolves against the folder of the config file that says it (so
  ``--config /desk/config.yaml`` means ``/desk/live`` from whatever folder the command runs in;
  a kill switch or restricted list in that folder is never missed); with no config file, against
  the current directory.

Units: ``*_usd`` in $, ``*_bps`` in basis points, ``*_pct`` as fractions (0.10 = 10%).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from xlexec.core.checks.thresholds import Thresholds
from xlexec.errors import ConfigError, InputError

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
SECRET_KEYS = {"api_key", "api_secret", "refresh_token", "secret_key", "app_key", "app_secret", "account_hash"}

#: key path -> why it went; a config that still sets one of these is refused, naming it
REMOVED_KEYS = {
    "execution.retry_failed_orders": "nothing retried failed orders (resubmit: the journal makes a rerun safe)",
    "execution.td": "TD Ameritrade's API was shut down in May 2024; no code used these keys",
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True, defer_build=True)


class AlpacaConfig(_Model):
    api_key: SecretStr = SecretStr("")
    api_secret: SecretStr = SecretStr("")
    paper: bool = True
    base_url: str = "https://paper-api.alpaca.markets"
    data_url: str | None = None
    account_number: str | None = None  # the account the broker must report; None = any (mode still checked)


class SchwabConfig(_Model):
    """Schwab Trader API through schwab-py (always real money: Schwab has no paper trading)."""

    app_key: SecretStr = SecretStr("")
    app_secret: SecretStr = SecretStr("")
    token_path: str | None = None  # the OAuth token file made once with schwab-py's login flow
    account_hash: SecretStr = SecretStr("")  # the account's hash; empty -> looked up by account_number
    account_number: str | None = None  # the account orders go to (required when the token reaches several)
    paper: bool = True  # must be set false: Schwab has no paper trading, so true refuses (fail closed)
    base_url: str = "https://api.schwabapi.com"  # only a loopback test server may replace it


class IbkrConfig(_Model):
    """Interactive Brokers through ib_async to a running TWS or IB Gateway (API enabled)."""

    host: str = "127.0.0.1"  # TWS / IB Gateway's machine (it may be another one on the desk's network)
    # None: TWS's port of the mode, 7497 paper / 7496 live; IB Gateway listens on 4002 / 4001
    port: int | None = Field(None, ge=1, le=65535)
    client_id: int = Field(1, ge=0)  # the API client id, unique per connection to that TWS
    # the account orders go to: DU... (paper) or U... (live); must be one of the login's accounts;
    # None: the login must manage exactly one
    account_id: str | None = None
    paper: bool = True  # the mode; the account TWS reports must fit it (DU... paper, U... live)
    connect_timeout_seconds: float = Field(10.0, gt=0)


class PaperBrokerConfig(_Model):
    """The built-in simulator. Deterministic: same orders + quotes -> same fills."""

    starting_cash: float = 100_000.0
    commission_bps: float | None = None  # None -> costs_bps
    commission_min_usd: float = 0.0
    slippage_bps: float | None = None  # None -> slippage_bps; adverse, capped at the limit
    participation: float = 1.0  # fraction of the displayed bid/ask size that can fill


class ChaseConfig(_Model):
    enabled: bool = False
    step: float = Field(0.05, gt=0)  # $ per move
    minutes: int = Field(15, gt=0)
    max_moves: int = Field(3, ge=0)


class ExecutionConfig(_Model):
    enabled: bool = True
    broker: Literal["alpaca", "ibkr", "td", "paper", "schwab"] = "paper"
    paper_trading: bool = True
    max_order_size_usd: float = Field(10_000.0, gt=0)
    max_daily_trades: int = Field(50, gt=0)
    require_human_approval: bool = True
    # maker-checker: the approver's OS login must differ from the submitter's (and from whoever
    # proposed a loosened policy); see xlexec/store/policy.py
    require_four_eyes: bool = False
    approvers: list[str] = Field(default_factory=list)  # OS logins allowed to approve; [] = anyone
    # limit | market (stop orders are not supported: a stop needs a trigger the model does not give)
    default_order_type: Literal["limit", "market"] = "limit"
    order_timeout_minutes: int = Field(30, ge=0)
    price_collar_pct: float | None = Field(0.05, ge=0)  # vs latest quote mid; None = off
    # seconds: a quote older than this is no quote for an order that needs one (market orders'
    # value, the collar's mid), whatever the collar; aged from the last close outside the session
    max_quote_age_seconds: float = Field(60.0, gt=0)
    buying_power_buffer: float = Field(0.05, ge=0, lt=1)
    # requests per 60 s window; None = the broker's documented allowance (ratelimit.ALLOWANCE_PER_MIN)
    rate_limit_per_min: int | None = Field(None, gt=0)
    rate_limit_burst: int | None = Field(None, ge=1)  # requests back-to-back; None = the whole window
    request_timeout_seconds: float = Field(10.0, gt=0)
    max_concurrency: int = Field(4, gt=0)
    chase: ChaseConfig = Field(default_factory=ChaseConfig)
    alpaca: AlpacaConfig = Field(default_factory=AlpacaConfig)
    schwab: SchwabConfig = Field(default_factory=SchwabConfig)
    ibkr: IbkrConfig = Field(default_factory=IbkrConfig)
    paper: PaperBrokerConfig = Field(default_factory=PaperBrokerConfig)


class ValidationConfig(_Model):
    """Thresholds of ``xlexec validate`` (the guide's defaults)."""

    max_trade_pct: float = 0.10
    max_position_pct: float = 0.15
    max_sector_pct: float = 0.30
    top_k: int = 20
    position_count_tolerance: int = 5
    price_warn_pct: float = 0.02
    price_fail_pct: float = 0.10
    quote_stale_minutes: float = 15
    turnover_warn: float = 0.30
    turnover_fail: float = 0.35
    turnover_header_tolerance: float = 0.01
    max_cost_pct: float = 0.005
    high_cost_trade_usd: float = 50.0
    min_trade_usd: float = 500.0
    notional_tolerance_usd: float = 0.01
    cost_tolerance_usd: float = 0.01
    ic_pass: float = 0.02
    ic_fail: float = 0.01
    regime_multiplier_min: float = 0.0
    regime_multiplier_max: float = 1.5
    earnings_window_days: int = 1
    max_adv_pct: float = 0.05
    allow_short: bool = False  # a sale beyond the shares held: FAIL (validate and submit) unless true
    spread_warn_bps: float = Field(50.0, gt=0)  # quote spread (ask - bid) / mid in bps: WARN above
    spread_fail_bps: float = Field(200.0, gt=0)  # ... FAIL above


class WorkbookConfig(_Model):
    #: how Control's trade date reads a numeric A/B/YYYY form (xlexec.excel.tradedate):
    #: refuse = only when a single day/month order gives a date; mdy = US month/day; dmy = day/month
    slash_dates: Literal["refuse", "mdy", "dmy"] = "refuse"


class BrokerAccountConfig(_Model):
    """Which broker account's rows a fills file is read for (``xlexec fills --account`` wins)."""

    account: str | None = None  # None: a file naming more than one account is refused
    # IANA zone of IBKR Flex DateTime values (they carry none; the Flex query's settings set it);
    # None: fill_time_ny stays empty for IBKR fills (never guessed)
    flex_time_zone: str | None = None

    @field_validator("flex_time_zone")
    @classmethod
    def _zone(cls, v: str | None) -> str | None:
        """An IANA time zone name (``America/New_York``), or None."""
        if v is None or not v.strip():
            return None
        try:
            ZoneInfo(v.strip())
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{v!r} is not an IANA time zone name (e.g. America/New_York, Europe/London)") from None
        return v.strip()


class Config(_Model):
    live_dir: Path = Path("live")
    # the journal: "sqlite" (live/journal.sqlite) or postgresql://LOGIN[:${ENV_VAR}]@HOST[:PORT]/DB
    journal: str = "sqlite"
    # ISO 4217 code of the fund's money: every fill must be in it (no FX conversion is done)
    base_currency: str = Field("USD", pattern=r"^[A-Z]{3}$")
    costs_bps: float = Field(1.0, ge=0)
    slippage_bps: float = Field(2.0, ge=0)
    opening_cash: float | None = None  # $ the first reconciled day starts from; None = unknown
    user: str | None = None  # default approver/operator name; else the OS user
    broker: BrokerAccountConfig = Field(default_factory=BrokerAccountConfig)
    execution: ExecutionConfig = Field(default_factory=ExecutionConfig)
    validation: ValidationConfig = Field(default_factory=ValidationConfig)
    workbook: WorkbookConfig = Field(default_factory=WorkbookConfig)

    source: str = Field("<built-in defaults>", exclude=True)

    @field_validator("journal")
    @classmethod
    def _journal_url(cls, v: str) -> str:
        """``sqlite``, or a ``postgresql://`` URL whose password, if any, is ``${ENV_VAR}``."""
        v = v.strip()
        if v == "sqlite":
            return v
        if not v.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be sqlite or a postgresql://LOGIN@HOST/DB URL")
        netloc = v.split("://", 1)[1].split("/", 1)[0]
        userinfo = netloc.rsplit("@", 1)[0] if "@" in netloc else ""
        password = userinfo.split(":", 1)[1] if ":" in userinfo else None
        if password is not None and not _ENV.fullmatch(password):
            raise ValueError("holds a literal password; write it as ${ENV_VAR} (e.g. ${XLEXEC_PG_PASSWORD})")
        rest = v.replace(password or "", "", 1) if password else v
        if _ENV.search(rest) or "password=" in rest.lower():
            raise ValueError("${ENV_VAR} is allowed as the password only (and no password= parameter)")
        return v

    def day_dir(self, day: str) -> Path:
        """``live/DAY`` for a real YYYY-MM-DD ``day``: a name that is not a date (``../../x``)
        is refused, so no path derived from it can leave ``live/``."""
        text = str(day)
        try:
            ok = bool(_DAY.fullmatch(text)) and dt.date.fromisoformat(text).isoformat() == text
        except ValueError:
            ok = False
        if not ok:
            raise InputError("date", f"must be a YYYY-MM-DD calendar day, got {text[:20]!r}")
        return self.live_dir / text


def _interpolate(node: Any, path: str, secrets_literal: list[str], env_elsewhere: list[str]) -> Any:
    """``node`` with ``${VAR}`` expanded in secret fields; literal secrets and ``${VAR}`` outside
    a secret field are collected (by key path) for the caller to refuse."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            key = f"{path}.{k}" if path else str(k)
            if key == "journal" and isinstance(v, str):  # ${VAR} allowed as its password only
                out[k] = v
            elif str(k) in SECRET_KEYS and isinstance(v, str):
                if v and not _ENV.fullmatch(v.strip()):
                    secrets_literal.append(key)
                out[k] = _ENV.sub(lambda m: os.environ.get(m.group(1), ""), v)
            else:
                out[k] = _interpolate(v, key, secrets_literal, env_elsewhere)
        return out
    if isinstance(node, list):
        return [_interpolate(v, f"{path}[{i}]", secrets_literal, env_elsewhere) for i, v in enumerate(node)]
    if isinstance(node, str) and _ENV.search(node):
        env_elsewhere.append(path)
    return node


def _fmt_loc(loc: tuple) -> str:
    parts: list[str] = []
    for p in loc:
        if isinstance(p, int):
            parts[-1:] = [f"{parts[-1]}[{p}]"] if parts else [f"[{p}]"]
        else:
            parts.append(str(p))
    return ".".join(parts)


def config_from_dict(data: dict | None, source: str = "<dict>", base_dir: Path | None = None) -> Config:
    """Validate a raw mapping (as read from YAML) into a :class:`Config`."""
    data = data or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of keys, got {type(data).__name__}")
    literal: list[str] = []
    elsewhere: list[str] = []
    data = _interpolate(data, "", literal, elsewhere)
    if literal:
        raise ConfigError(
            f"{source}: {literal[0]} holds a literal secret; never commit keys next to code: "
            f"write it as ${{ENV_VAR}} (e.g. ${{ALPACA_API_KEY}}) and set the variable"
        )
    removed = _removed_key(data)
    if removed:
        raise ConfigError(
            f"{source}: {removed}: this key was removed ({REMOVED_KEYS[removed]}); delete it from the config"
        )
    if elsewhere:
        raise ConfigError(
            f"{source}: {elsewhere[0]}: ${{ENV_VAR}} is expanded only in secret fields "
            f"({', '.join(sorted(SECRET_KEYS))}); write the value itself"
        )
    try:
        cfg = Config.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        loc = _fmt_loc(tuple(err.get("loc", ())))
        msg = err.get("msg", "invalid")
        if err.get("type") == "extra_forbidden":
            msg = "unknown key"
        raise ConfigError(f"{source}: {loc}: {msg}") from None
    base = base_dir or Path.cwd()
    if not cfg.live_dir.is_absolute():
        cfg.live_dir = (base / cfg.live_dir).resolve()
    cfg.source = source
    return cfg


def _removed_key(data: dict) -> str | None:
    """The first key path of ``data`` listed in :data:`REMOVED_KEYS`, else None."""
    for path in REMOVED_KEYS:
        node: Any = data
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                break
            node = node[part]
        else:
            return path
    return None


def load_config(path: str | os.PathLike | None = None, cwd: Path | None = None) -> Config:
    """Load ``path``; with ``None``, ``./config.yaml`` when present, else built-in defaults.

    A relative ``live_dir`` resolves against ``cwd`` when given, else against the config file's
    own folder (the current directory for the built-in defaults)."""
    here = Path.cwd()
    if path is None:
        candidate = Path(cwd or here) / "config.yaml"
        if not candidate.exists():
            return config_from_dict({}, "<built-in defaults>", Path(cwd or here))
        path = candidate
    p = Path(path)
    base = Path(cwd) if cwd is not None else (here / p).parent
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise ConfigError(f"{p}: cannot read config: {e.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{p}: not UTF-8 text (byte {e.start})") from None
    try:
        data = yaml.load(text, Loader=NoAliasLoader)  # noqa: S506 - a SafeLoader that refuses aliases
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" row {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{p}:{where}: YAML error: {problem}") from None
    except (ValueError, OverflowError) as e:  # a scalar YAML types but cannot build (date 2025-13-45)
        raise ConfigError(f"{p}:{_bad_scalar(text)} YAML error: {' '.join(str(e).split())}") from None
    return config_from_dict(data, str(p), base)


class AliasRefused(yaml.MarkedYAMLError):
    """A YAML anchor or alias in a config file (refused: see the module docstring)."""


class NoAliasLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses every anchor (``&a``) and alias (``*a``, ``<<: *a``)
    as it composes, before anything is expanded: an alias bomb fails in microseconds."""

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            what = f"alias *{event.anchor}" if isinstance(event, yaml.AliasEvent) else f"anchor &{event.anchor}"
            raise AliasRefused(
                problem=f"{what}: YAML anchors and aliases are not allowed in a config (write each value out)",
                problem_mark=event.start_mark,
            )
        return super().compose_node(parent, index)


def _bad_scalar(text: str) -> str:
    """`` row R, column C, key K:`` of the first scalar PyYAML parses but cannot construct."""
    loader = yaml.SafeLoader("")
    try:
        root = yaml.compose(text, Loader=NoAliasLoader)
    except yaml.YAMLError:
        return ""
    stack = [(root, "")]
    while stack:
        node, path = stack.pop(0)
        if isinstance(node, yaml.MappingNode):
            stack = [(v, f"{path}.{k.value}" if path else str(k.value)) for k, v in node.value] + stack
        elif isinstance(node, yaml.SequenceNode):
            stack = [(v, f"{path}[{i}]") for i, v in enumerate(node.value)] + stack
        elif node is not None:
            try:
                loader.construct_object(node, deep=True)
            except (ValueError, OverflowError, yaml.YAMLError):
                m = node.start_mark
                return f" row {m.line + 1}, column {m.column + 1}, {path}:"
    return ""


def validation_thresholds(cfg: Config) -> Thresholds:
    """The limits of the pre-trade checks: every ``validation.*`` key plus ``costs_bps`` and
    ``slippage_bps`` (the plain dataclass :mod:`xlexec.core.checks` takes instead of ``Config``)."""
    return Thresholds(**cfg.validation.model_dump(), costs_bps=cfg.costs_bps, slippage_bps=cfg.slippage_bps)


def secret_values(cfg: Config) -> list[str]:
    """Every non-empty secret in ``cfg`` (for redaction of outputs)."""
    ex = cfg.execution
    vals = [ex.alpaca.api_key, ex.alpaca.api_secret]
    return [v.get_secret_value() for v in vals if v.get_secret_value()]
