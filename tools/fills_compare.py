"""The fills readers of two source trees give the same frames and the same errors on many inputs.

For checking that a change to reading fills (:mod:`xlexec.formats.fills`) changes no output:
every input is read by the ``--base`` tree (e.g. a ``git worktree`` of main) and by this one
(``--head``, default: the tree this file is in), each in its own process, and the results are
compared: frames with ``pd.testing.assert_frame_equal(check_exact=True)`` (values, dtypes, index,
column order), ``attrs`` with ``==``, and an :class:`~xlexec.errors.InputError`'s type, message,
file, row and column word for word.

The inputs: every fills file under ``tests/data`` (every layout: ours, Alpaca CSV/JSON, IBKR
Flex CSV/XML, Schwab, Fidelity), read as files, as texts and as pasted blocks (the cells as
text, and typed as a workbook gives them), with reading rules (account, base currency, Flex time
zone); every CSV text written inline in the fills tests; the benchmark's day files
(``--days``, ``bench --_prepare tca_year`` makes them) one by one and concatenated; and hand-made
variants of our layout: fill times with fractions of a second, offsets other than ``Z``, no zone,
lower-case ``z``, across the 2025 DST changes, the 1800s, years 1900/2199/2200, invalid dates and
times, leap days; blank cells, bad numbers and other currencies at a late row, a BOM, CRLF line
ends, ``#`` comments, short rows, spaces around cells, extra columns, side and symbol spellings.

    python tools/fills_compare.py --base /work/wt/fills-base [--days DIR] [--quick]

Exit 0 when every result is the same, 1 (listing the differences) otherwise.
"""

from __future__ import annotations

import argparse
import ast
import csv
import glob
import io
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DAYS = "/tmp/xlexec-bench-cache/tca_year-1000000-v2"
HEADER = "date,symbol,side,shares,price,commission,fill_time,order_id,client_order_id"


# ------------------------------------------------------------------ the inputs


def _rows(text: str) -> list[list[str]]:
    try:
        return list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error:
        return [line.split(",") for line in text.splitlines()]


def _typed(rows: list[list[str]]) -> list[list]:
    """Cells as a workbook gives them: numbers as int/float, empty as None."""
    out = []
    for r in rows:
        t = []
        for c in r:
            if c == "":
                t.append(None)
                continue
            try:
                t.append(int(c) if c.strip().lstrip("-").isdigit() else float(c))
            except ValueError:
                t.append(c)
        out.append(t)
    return out


def _sample(n: int) -> str:
    """``n`` fills of our layout, times spread over 2025 trading hours (deterministic)."""
    lines = [HEADER]
    syms = ["AAPL", "MSFT", "BRK.B", "SPY", "QQQ", "XOM", "JPM", "T"]
    for i in range(n):
        day = 2 + i % 27
        month = 1 + (i // 27) % 12
        h, m, s = 14 + i % 6, (i * 7) % 60, (i * 13) % 60
        sym = syms[i % len(syms)]
        side = "buy" if i % 3 else "sell"
        lines.append(
            f"2025-{month:02d}-{day:02d},{sym},{side},{1 + i % 500},{10 + (i * 37) % 9000 / 100:.2f},"
            f"{(i % 7) / 10:.2f},2025-{month:02d}-{day:02d}T{h:02d}:{m:02d}:{s:02d}Z,o{i},"
            + (f"xlx-{i}" if i % 2 else "")
        )
    return "\n".join(lines) + "\n"


def _with_times(times: list[str]) -> str:
    lines = [HEADER]
    for i, t in enumerate(times):
        d = t[:10] if len(t) >= 10 and t[4:5] == "-" else "2025-03-09"
        lines.append(f"{d},AAPL,buy,{1 + i % 9},10.5,0.1,{t},o{i},")
    return "\n".join(lines) + "\n"


def _minutes(start: str, hours: int, step: int = 60) -> list[str]:
    import numpy as np

    base = np.datetime64(start, "s").astype(np.int64)
    s = np.arange(base, base + hours * 3600, step)
    return [x + "Z" for x in np.datetime_as_string(s.astype("datetime64[s]"), unit="s")]


def _set_cell(text: str, row: int, col: str, value: str) -> str:
    lines = text.split("\n")
    header = lines[0].split(",")
    cells = next(csv.reader([lines[row]]))
    cells[header.index(col)] = value
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(cells)
    lines[row] = buf.getvalue()
    return "\n".join(lines)


def _map_col(text: str, col: str, fn) -> str:
    lines = text.rstrip("\n").split("\n")
    header = lines[0].split(",")
    k = header.index(col)
    out = [lines[0]]
    for i, line in enumerate(lines[1:], 1):
        cells = line.split(",")
        cells[k] = fn(i, cells[k])
        out.append(",".join(cells))
    return "\n".join(out) + "\n"


def _add_col(text: str, col: str, fn) -> str:
    lines = text.rstrip("\n").split("\n")
    return "\n".join([lines[0] + "," + col] + [f"{line},{fn(i)}" for i, line in enumerate(lines[1:], 1)]) + "\n"


def hand_made() -> list[tuple[str, str]]:
    """(name, text) variants of our layout."""
    small, mid, big = _sample(40), _sample(3000), _sample(25_000)  # big: the distinct-times path
    out: list[tuple[str, str]] = []
    for tag, base in (("small", small), ("mid", mid), ("big", big)):
        out.append((f"{tag}-plain", base))
        out.append((f"{tag}-frac", _map_col(base, "fill_time", lambda i, t: t[:-1] + ".123Z" if i % 5 == 0 else t)))
        out.append((f"{tag}-frac-all", _map_col(base, "fill_time", lambda i, t: t[:-1] + ".5Z")))
        out.append((f"{tag}-offset", _map_col(base, "fill_time", lambda i, t: t[:-1] + "+00:00" if i % 4 else t)))
        out.append((f"{tag}-offset-all", _map_col(base, "fill_time", lambda i, t: t[:-1] + "-05:00")))
        out.append((f"{tag}-offset-compact", _map_col(base, "fill_time", lambda i, t: t[:-1] + "+0130")))
        out.append((f"{tag}-nozone", _map_col(base, "fill_time", lambda i, t: t[:-1] if i % 3 == 0 else t)))
        out.append((f"{tag}-nozone-all", _map_col(base, "fill_time", lambda i, t: t[:-1])))
        out.append((f"{tag}-lower-z", _map_col(base, "fill_time", lambda i, t: t[:-1] + "z")))
        out.append((f"{tag}-space-T", _map_col(base, "fill_time", lambda i, t: t.replace("T", " "))))
        out.append((f"{tag}-blank-time", _map_col(base, "fill_time", lambda i, t: "" if i % 7 == 0 else t)))
        out.append((f"{tag}-blank-times", _map_col(base, "fill_time", lambda i, t: "")))
        out.append((f"{tag}-date-only", _map_col(base, "fill_time", lambda i, t: t[:10])))
        out.append((f"{tag}-text-time", _map_col(base, "fill_time", lambda i, t: "soon" if i == 3 else t)))
        n = base.count("\n") - 1
        late = n - 1
        for col, bad in (
            ("shares", "abc"),
            ("shares", "1,5"),
            ("shares", "-5"),
            ("shares", "0"),
            ("shares", ""),
            ("shares", "nan"),
            ("shares", "inf"),
            ("shares", "-0"),
            ("price", "$5.00"),
            ("price", "1,234.50"),
            ("price", "0"),
            ("price", ""),
            ("commission", ""),
            ("commission", "x"),
            ("commission", "-0.5"),
            ("date", ""),
            ("date", "2025-02-30"),
            ("date", "01/02/2025"),
            ("date", "20250102"),
            ("symbol", ""),
            ("symbol", "Microsoft Corp"),
            ("symbol", "brk b"),
            ("symbol", "BRK/B"),
            ("side", "short"),
            ("side", "B"),
            ("side", "SLD"),
            ("side", ""),
            ("fill_time", "2025-02-30T10:00:00Z"),
            ("fill_time", "2025-01-02T24:00:00Z"),
            ("fill_time", "2025-01-02T23:60:00Z"),
            ("fill_time", "2025-06-30T23:59:60Z"),
            ("fill_time", "2025-13-01T10:00:00Z"),
            ("fill_time", "1850-06-01T12:00:00Z"),
            ("fill_time", "2200-01-01T00:00:00Z"),
            ("fill_time", "0001-01-01T00:00:00Z"),
            ("fill_time", "2025-1-2T10:00:00Z"),
            ("fill_time", "2025-01-02T10:00:00ZZ"),
            ("fill_time", "\u0662025-01-02T10:00:00Z"),
            ("order_id", ""),
        ):
            out.append((f"{tag}-late-{col}-{bad}", _set_cell(base, late, col, bad)))
        out.append((f"{tag}-bom", "\ufeff" + base))
        out.append((f"{tag}-crlf", base.replace("\n", "\r\n")))
        out.append((f"{tag}-comments", "# fills exported by xlexec\n# second\n" + base))
        out.append((f"{tag}-spaces", base.replace(",", " , ", 3).replace(",buy,", ", buy ,")))
        out.append(
            (
                f"{tag}-short-row",
                base.rstrip("\n").rsplit("\n", 1)[0] + "\n2025-01-02,AAPL,buy,5,10,0.1,2025-01-02T15:00:00Z\n",
            )
        )
        out.append((f"{tag}-blank-lines", base.replace("\n", "\n\n", 5)))
        out.append((f"{tag}-blank-first", _set_cell(base, 1, "date", "")))
        out.append((f"{tag}-fill-id", _add_col(base, "fill_id", lambda i: f"f{i}")))
        out.append((f"{tag}-fees", _add_col(base, "fees", lambda i: f"0.0{i % 10}")))
        out.append((f"{tag}-currency", _add_col(base, "currency", lambda i: "usd" if i % 2 else "")))
        out.append((f"{tag}-currency-eur", _add_col(base, "currency", lambda i, n=n: "EUR" if i == n - 2 else "USD")))
        out.append((f"{tag}-account", _add_col(base, "account", lambda i: "U1")))
        out.append((f"{tag}-accounts", _add_col(base, "account", lambda i: "U1" if i % 2 else "U2")))
        out.append(
            (
                f"{tag}-fill-time-ny",
                _add_col(base, "fill_time_ny", lambda i: "" if i % 2 else "2025-01-02T10:00:00-05:00"),
            )
        )
        out.append((f"{tag}-instrument", _add_col(base, "instrument", lambda i: "option" if i % 9 == 0 else "")))
        out.append((f"{tag}-quoted", base.replace(",AAPL,", ',"AAPL",')))
        out.append((f"{tag}-dup-col", base.replace(HEADER, HEADER.replace("order_id,client", "shares,client"), 1)))
    # times across the DST changes, the zone's history and the range's ends
    for start, hours, step in (
        ("2025-03-09T05:00:00", 4, 60),
        ("2025-03-09T06:59:00", 1, 1),
        ("2025-11-02T04:00:00", 5, 60),
        ("2025-11-02T05:59:00", 1, 1),
        ("2025-11-02T06:00:00", 2, 7),
        ("1883-11-18T16:00:00", 2, 60),
        ("1899-12-31T20:00:00", 10, 60),
        ("1918-03-31T05:00:00", 4, 60),
        ("1945-09-30T05:00:00", 3, 60),
        ("1974-01-06T05:00:00", 4, 60),
        ("2000-02-28T00:00:00", 72, 600),
        ("2024-02-28T00:00:00", 72, 600),
        ("2199-12-31T20:00:00", 3, 60),
        ("2199-12-31T22:00:00", 4, 60),
        ("2037-03-08T05:00:00", 4, 60),
        ("2100-02-27T00:00:00", 72, 600),
    ):
        times = _minutes(start, hours, step)
        out.append((f"times-{start}", _with_times(times)))
        out.append((f"times-{start}-many", _with_times(times * max(1, 21_000 // len(times)))))
    out.append(("times-1850", _with_times(["1850-06-01T12:00:00Z", "1850-06-01T12:00:01Z"])))
    out.append(
        ("times-mixed", _with_times(["2025-03-09T06:30:00Z", "2025-03-09T07:30:00+01:00", "2025-03-09T08:00:00.25Z"]))
    )
    out.append(("times-one", _with_times(["2025-03-09T06:30:00Z"])))
    out.append(("times-leap-bad", _with_times(["2025-02-29T10:00:00Z", "2024-02-29T10:00:00Z"])))
    out.append(("times-1900-02-29", _with_times(["1900-02-29T10:00:00Z"])))
    out.append(("times-2100-02-29", _with_times(["2100-02-29T10:00:00Z"])))
    out.append(("header-only", HEADER + "\n"))
    out.append(("empty", ""))
    out.append(("comment-only", "# nothing\n"))
    return out


def test_texts() -> list[tuple[str, str]]:
    """CSV texts written inline in the fills, reconcile and TCA tests (string constants with a
    header row and a comma)."""
    out = []
    pats = ("test_fills*.py", "test_alpaca_fills.py", "test_read*.py", "test_reconcile*.py", "test_tca*.py")
    files = sorted({p for pat in pats for p in (REPO / "tests").glob(pat)})
    files += sorted((REPO / "tests" / "reliability").glob("test_hostile*.py"))
    for p in files:
        tree = ast.parse(p.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                s = node.value
                if "\n" in s and "," in s and len(s) > 20 and s.count("\n") < 5000:
                    out.append((f"{p.name}:{node.lineno}", s))
    return out


def cases(days: str | None, quick: bool) -> list[dict]:
    """Every read to compare: ``{"kind": "text"|"file"|"block", "name", "payload", "kw"}``."""
    out: list[dict] = []
    rules = [
        {},
        {"account": "U1234567"},
        {"base_currency": "EUR"},
        {"flex_time_zone": "America/New_York"},
        {"flex_time_zone": "Europe/London", "account": "X8YYYYYYY"},
    ]
    for p in sorted((REPO / "tests" / "data").rglob("*")):
        if not p.is_file() or p.suffix.lower() not in (".csv", ".json", ".xml"):
            continue
        rel = str(p.relative_to(REPO))
        for kw in rules:
            out.append({"kind": "file", "name": rel, "payload": str(p), "kw": kw})
        text = p.read_text(encoding="utf-8-sig", errors="replace")
        out.append({"kind": "text", "name": rel, "payload": text, "kw": {}})
        for fmt in ("xlexec", "alpaca", "ibkr", "schwab", "fidelity"):
            out.append({"kind": "text", "name": rel, "payload": text, "kw": {"format": fmt}})
        if p.suffix.lower() == ".csv":
            rows = _rows(text)
            for kw in rules[:2]:
                out.append({"kind": "block", "name": rel, "payload": rows, "kw": kw})
            out.append({"kind": "block", "name": rel, "payload": _typed(rows), "kw": {"first_row": 3}})
    for name, text in test_texts():
        out.append({"kind": "text", "name": name, "payload": text, "kw": {}})
        out.append({"kind": "block", "name": name, "payload": _rows(text), "kw": {}})
    for name, text in hand_made():
        out.append({"kind": "text", "name": name, "payload": text, "kw": {}})
        if len(text) < 200_000:
            out.append({"kind": "block", "name": name, "payload": _rows(text), "kw": {}})
            out.append({"kind": "block", "name": name, "payload": _typed(_rows(text)), "kw": {"first_row": 2}})
        out.append({"kind": "text", "name": name, "payload": text, "kw": {"account": "U1"}})
    if days and os.path.isdir(days):
        paths = sorted(glob.glob(os.path.join(days, "*", "broker_fills.csv")))
        if quick:
            paths = paths[::25]
        texts = []
        for p in paths:
            text = Path(p).read_text(encoding="utf-8")
            texts.append(text)
            out.append({"kind": "text", "name": p, "payload": text, "kw": {}})
        for k in (2, 20, 60):
            if len(texts) >= k:
                joined = texts[0].partition("\n")[0] + "\n" + "".join(t.partition("\n")[2] for t in texts[:k])
                out.append({"kind": "text", "name": f"days-{k}", "payload": joined, "kw": {}})
    return out


# ------------------------------------------------------------------ one tree's results


def run(cases_path: str, out_path: str) -> None:
    import xlexec
    from xlexec.errors import InputError
    from xlexec.formats.fills import _fills_parsed, parse_fills_text, read_fills, read_fills_block

    with open(cases_path, "rb") as f:
        todo = pickle.load(f)
    results = []
    for c in todo:
        _fills_parsed.cache_clear()
        try:
            if c["kind"] == "file":
                df = read_fills(c["payload"], **c["kw"])
            elif c["kind"] == "text":
                df = parse_fills_text(c["payload"], c["name"], **c["kw"])
            else:
                df = read_fills_block(c["payload"], c["name"], **c["kw"])
            results.append(("ok", df, dict(df.attrs)))
        except InputError as e:
            results.append(("error", type(e).__name__, str(e), e.file, e.row, e.column))
        except Exception as e:  # noqa: BLE001  (a crash is a result too: both trees must agree)
            results.append(("crash", type(e).__name__, str(e)))
    with open(out_path, "wb") as f:
        pickle.dump((xlexec.__file__, results), f)


def _results(tree: Path, cases_path: str, out_path: str) -> list:
    env = dict(os.environ, PYTHONPATH=str(tree))
    subprocess.run([sys.executable, str(Path(__file__).resolve()), "--_run", cases_path, out_path], env=env, check=True)
    with open(out_path, "rb") as f:
        where, results = pickle.load(f)
    if not str(Path(where).resolve()).startswith(str(tree.resolve())):
        raise SystemExit(f"{tree}: imported xlexec from {where}, not from the tree")
    return results


def _differ(a, b) -> str | None:
    import pandas as pd

    if a[0] != b[0]:
        return f"base {a[0]} {a[1:] if a[0] != 'ok' else ''} vs head {b[0]} {b[1:] if b[0] != 'ok' else ''}"
    if a[0] != "ok":
        return None if a == b else f"base {a} vs head {b}"
    try:
        pd.testing.assert_frame_equal(a[1], b[1], check_exact=True)
        assert type(a[1].index) is type(b[1].index)
        assert [type(v) for v in a[1].iloc[:, :].to_numpy().ravel()] == [
            type(v) for v in b[1].iloc[:, :].to_numpy().ravel()
        ]
    except AssertionError as e:
        return f"frames differ: {str(e)[:500]}"
    if a[2] != b[2]:
        return f"attrs differ: {str(a[2])[:300]} vs {str(b[2])[:300]}"
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", help="the source tree to compare with (a worktree of main)")
    ap.add_argument("--head", default=str(REPO), help="the changed source tree (default: this one)")
    ap.add_argument("--days", default=DAYS, help="the benchmark's day folders (each with broker_fills.csv)")
    ap.add_argument("--quick", action="store_true", help="every 25th bench day only")
    ap.add_argument("--only", default="", help="compare only the inputs whose name holds this text")
    ap.add_argument("--_run", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._run:
        run(*args._run)
        return 0
    if not args.base:
        ap.error("--base is required")
    todo = [c for c in cases(args.days, args.quick) if args.only in c["name"]]
    with tempfile.TemporaryDirectory() as tmp:
        cp = os.path.join(tmp, "cases.pkl")
        with open(cp, "wb") as f:
            pickle.dump(todo, f)
        base = _results(Path(args.base), cp, os.path.join(tmp, "base.pkl"))
        head = _results(Path(args.head), cp, os.path.join(tmp, "head.pkl"))
    bad = 0
    kinds: dict[str, int] = {}
    for c, a, b in zip(todo, base, head, strict=True):
        kinds[a[0]] = kinds.get(a[0], 0) + 1
        if a[0] == "crash":  # not an InputError: worth knowing, in both trees alike
            print(f"crash (both) {c['kind']} {c['name']} {c['kw']}: {a[1]}: {a[2][:120]}")
        why = _differ(a, b)
        if why:
            bad += 1
            print(f"DIFF {c['kind']} {c['name']} {c['kw']}: {why}")
    print(f"{len(todo)} reads compared ({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))}): {bad} differ")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
