"""Broker hosts compared as hosts, not as strings.

``https://API.alpaca.markets.``, ``https://api.alpaca.markets:443`` and
``https://api.alpaca.markets`` are one host; a string comparison saw three. :func:`canonical_host`
reduces a base URL to ``(scheme, host, port)``: the host case-folded with its trailing dot(s)
stripped, the port dropped when it is the scheme's default (443 for https, 80 for http). It
refuses (:class:`~xlexec.errors.ConfigError`, one line) what cannot be judged safely:

* a scheme other than http/https, an empty host, a malformed port;
* userinfo (``https://user@host``): credentials or a disguise before the host;
* percent-escapes, backslashes or blanks in the host;
* IP literals (``https://34.1.2.3``, ``https://[::1]``): which Alpaca host an address is cannot be
  told, so it is never accepted as one, except loopback addresses (``127.0.0.0/8``, ``::1``): a
  local test server or proxy. Even then the account the broker reports decides the mode
  (:func:`xlexec.execution.mode.check_account`): a proxy to the live API reports a live account.

:func:`alpaca_host_kind` names a canonical URL ``"live"`` (``api.alpaca.markets`` on the
default port), ``"paper"`` (``paper-api.alpaca.markets`` on the default port) or ``"other"``
(anything else, including Alpaca's names on a non-default port: that is not Alpaca's server).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from xlexec.errors import ConfigError

LIVE_HOST = "api.alpaca.markets"
PAPER_HOST = "paper-api.alpaca.markets"
DEFAULT_PORTS = {"https": 443, "http": 80}


@dataclass(frozen=True)
class CanonicalHost:
    scheme: str
    host: str
    port: int | None  # None = the scheme's default port

    @property
    def netloc(self) -> str:
        h = f"[{self.host}]" if ":" in self.host else self.host
        return h if self.port is None else f"{h}:{self.port}"


def canonical_host(url: str, *, what: str = "execution.alpaca.base_url") -> CanonicalHost:
    """``url`` reduced to ``(scheme, host, port)`` (see the module docstring); ConfigError when refused."""
    text = str(url or "").strip()
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ConfigError(f"{what}: {text!r} is not an http(s) URL")
    if "@" in parts.netloc:
        raise ConfigError(f"{what}: {text!r} has userinfo before the host (user@host): refused")
    raw = parts.hostname or ""
    if any(c in raw for c in "%\\ \t") or any(c in parts.netloc for c in "\\ \t"):
        raise ConfigError(f"{what}: {text!r} has escapes or blanks in the host: refused")
    host = raw.casefold().rstrip(".")
    if not host:
        raise ConfigError(f"{what}: {text!r} has no host")
    try:
        port = parts.port
    except ValueError:
        raise ConfigError(f"{what}: {text!r} has a malformed port") from None
    if port == DEFAULT_PORTS[scheme]:
        port = None
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if ip is not None and not ip.is_loopback:
        raise ConfigError(
            f"{what}: {text!r} is an IP address; use the broker's host name "
            "(only loopback addresses are accepted, for a local test server)"
        )
    return CanonicalHost(scheme, host, port)


def alpaca_host_kind(url: str, *, what: str = "execution.alpaca.base_url") -> str:
    """``"live"``, ``"paper"`` or ``"other"`` for ``url`` (canonicalised first; ConfigError when refused)."""
    c = canonical_host(url, what=what)
    if c.port is not None:
        return "other"
    if c.host == LIVE_HOST:
        return "live"
    if c.host == PAPER_HOST:
        return "paper"
    return "other"
