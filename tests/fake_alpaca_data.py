"""A loopback fake of Alpaca's market-data REST API (the endpoints xlexec uses), for tests.

``GET /v2/stocks/quotes/latest?symbols=A,B``, ``GET /v2/stocks/trades/latest?symbols=...`` and
``GET /v2/stocks/bars?symbols=...&timeframe=1Day&start=...&end=...`` with the JSON shapes alpaca-py
parses. ``timeframe=1Min`` serves ``minute_bars`` (symbol -> list of Alpaca bar objects ``t, o, h,
l, c, v, n, vw``) between ``start`` and ``end``, symbols in order and bars in time, ``page_size``
bars a page with ``next_page_token`` (as Alpaca pages a multi-symbol request). ``fail`` makes
every request answer that HTTP status. Runs on 127.0.0.1, port 0, in a
thread; stops by itself after ``max_lifetime`` seconds.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


def _iso(t: str) -> str:
    """An RFC 3339 time as comparable UTC text (``Z`` and ``+00:00`` alike)."""
    import datetime as dt

    return dt.datetime.fromisoformat(t.replace("Z", "+00:00")).astimezone(dt.UTC).isoformat() if t else ""


class FakeAlpacaData:
    def __init__(
        self,
        quotes: dict[str, tuple[float, float, float]],
        closes: dict[str, float] | None = None,
        ts: str = "2025-10-30T13:35:00Z",
        fail: int | None = None,
        max_lifetime: float = 60,
        minute_bars: dict[str, list[dict]] | None = None,
        page_size: int = 10_000,
    ):
        self.quotes, self.closes, self.ts, self.fail = quotes, closes or {}, ts, fail
        self.minute_bars, self.page_size = minute_bars or {}, page_size
        self.requests: list[dict] = []
        fake = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):  # quiet
                pass

            def do_GET(self):
                u = urlsplit(self.path)
                q = {k: v[0] for k, v in parse_qs(u.query).items()}
                fake.requests.append({"path": u.path, "query": q, "key": self.headers.get("APCA-API-KEY-ID")})
                code, body = fake.route(u.path, q)
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.timer = threading.Timer(max_lifetime, self.stop)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def route(self, path: str, q: dict):
        if self.fail:
            return self.fail, {"message": "internal server error"}
        syms = [s for s in q.get("symbols", "").split(",") if s]
        if path == "/v2/stocks/quotes/latest":
            return 200, {
                "quotes": {
                    s: {
                        "t": self.ts,
                        "ax": "V",
                        "ap": self.quotes[s][1],
                        "as": 3,
                        "bx": "V",
                        "bp": self.quotes[s][0],
                        "bs": 2,
                        "c": ["R"],
                        "z": "C",
                    }
                    for s in syms
                    if s in self.quotes
                }
            }
        if path == "/v2/stocks/trades/latest":
            return 200, {
                "trades": {
                    s: {"t": self.ts, "x": "V", "p": self.quotes[s][2], "s": 100, "c": ["@"], "i": 1, "z": "C"}
                    for s in syms
                    if s in self.quotes
                }
            }
        if path == "/v2/stocks/bars" and q.get("timeframe") == "1Min":
            return 200, self._minute_page(syms, q)
        if path == "/v2/stocks/bars":
            return 200, {
                "bars": {
                    s: [{"t": "2025-10-30T04:00:00Z", "o": c, "h": c, "l": c, "c": c, "v": 1000, "n": 10, "vw": c}]
                    for s, c in self.closes.items()
                    if s in syms
                },
                "next_page_token": None,
            }
        return 404, {"message": "not found"}

    def _minute_page(self, syms: list[str], q: dict) -> dict:
        start, end = q.get("start"), q.get("end")
        rows = [
            (s, b)
            for s in sorted(syms)
            for b in self.minute_bars.get(s, [])
            if (not start or _iso(start) <= _iso(b["t"])) and (not end or _iso(b["t"]) <= _iso(end))
        ]
        at = int(q.get("page_token") or 0)
        size = min(self.page_size, int(q.get("limit") or self.page_size))
        page = rows[at : at + size]
        out: dict[str, list[dict]] = {}
        for s, b in page:
            out.setdefault(s, []).append(b)
        return {"bars": out, "next_page_token": str(at + size) if at + size < len(rows) else None}

    def start(self) -> FakeAlpacaData:
        self.thread.start()
        self.timer.start()
        return self

    def stop(self) -> None:
        self.timer.cancel()
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
