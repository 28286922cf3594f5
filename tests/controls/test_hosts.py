"""Broker hosts compared as hosts: a table of hand-written spellings and what each is."""

from __future__ import annotations

import pytest

from xlexec.errors import ConfigError
from xlexec.execution.brokers.hosts import alpaca_host_kind, canonical_host

KINDS = [
    # (base URL, kind)
    ("https://api.alpaca.markets", "live"),
    ("https://api.alpaca.markets/", "live"),
    ("https://api.alpaca.markets.", "live"),
    ("https://api.alpaca.markets..", "live"),
    ("https://API.ALPACA.MARKETS", "live"),
    ("https://Api.Alpaca.Markets.:443/v2", "live"),
    ("https://api.alpaca.markets:443", "live"),
    ("http://api.alpaca.markets:80", "live"),
    ("  https://api.alpaca.markets  ", "live"),
    ("https://paper-api.alpaca.markets", "paper"),
    ("https://PAPER-API.alpaca.markets.", "paper"),
    ("https://paper-api.alpaca.markets:443", "paper"),
    ("https://api.alpaca.markets:8443", "other"),  # not Alpaca's server
    ("https://paper-api.alpaca.markets:444", "other"),
    ("https://api.alpaca.markets.example.com", "other"),
    ("https://xapi.alpaca.markets", "other"),
    ("http://127.0.0.1:8080", "other"),  # a local test server
    ("http://localhost:5000", "other"),
    ("http://[::1]:9000", "other"),
]


@pytest.mark.parametrize(("url", "kind"), KINDS)
def test_kind_of_each_spelling(url, kind):
    assert alpaca_host_kind(url) == kind


CANONICAL = [
    ("https://API.Alpaca.Markets.:443/v2", ("https", "api.alpaca.markets", None, "api.alpaca.markets")),
    ("HTTPS://paper-api.alpaca.markets", ("https", "paper-api.alpaca.markets", None, "paper-api.alpaca.markets")),
    ("http://127.0.0.1:5000", ("http", "127.0.0.1", 5000, "127.0.0.1:5000")),
    ("http://[::1]:80", ("http", "::1", None, "[::1]")),
    ("https://api.alpaca.markets:80", ("https", "api.alpaca.markets", 80, "api.alpaca.markets:80")),
]


@pytest.mark.parametrize(("url", "want"), CANONICAL)
def test_canonical_form(url, want):
    c = canonical_host(url)
    assert (c.scheme, c.host, c.port, c.netloc) == want


REFUSED = [
    ("https://user@api.alpaca.markets", "userinfo"),
    ("https://user:pw@paper-api.alpaca.markets", "userinfo"),
    ("https://paper-api.alpaca.markets@api.alpaca.markets", "userinfo"),
    ("https://@api.alpaca.markets", "userinfo"),
    ("https://34.120.8.20", "IP address"),
    ("https://34.120.8.20:443", "IP address"),
    ("https://[2600:1f18::1]", "IP address"),
    ("https://10.0.0.5", "IP address"),
    ("https://api%2Ealpaca.markets", "escapes"),
    ("ftp://api.alpaca.markets", "not an http"),
    ("api.alpaca.markets", "not an http"),
    ("", "not an http"),
    ("https://", "no host"),
    ("https://.", "no host"),
    ("https://api.alpaca.markets:99999", "malformed port"),
    ("https://api.alpaca.markets:x", "malformed port"),
]


@pytest.mark.parametrize(("url", "why"), REFUSED)
def test_refused_spellings(url, why):
    with pytest.raises(ConfigError, match=why):
        alpaca_host_kind(url)


def test_adapter_refuses_the_live_host_in_paper_mode_in_any_spelling():
    from xlexec.execution.brokers.alpaca import AlpacaBroker

    for url in ("https://api.alpaca.markets.", "https://API.alpaca.markets:443"):
        with pytest.raises(ConfigError, match="LIVE API"):
            AlpacaBroker("k", "s", paper=True, base_url=url)
    live = AlpacaBroker("k", "s", paper=False, base_url="https://api.alpaca.markets.")
    assert live.paper is False
