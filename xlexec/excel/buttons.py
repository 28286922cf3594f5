"""One function per workbook button; each is also ``xlexec button NAME --book FILE``.

Every button: reads the operator's inputs from the book (:mod:`xlexec.excel.book`), runs the
same step function as its CLI twin (:mod:`xlexec.steps`, in-process, with this session's
context: same files, same journal events, same guards, the same typed result; never through
argparse or printed text), records the press in the
journal (kind ``action``: who, when, what, result — the Log tab), then shows the results:
whole-range writes on an xlwings book, or a full atomic re-render of a workbook file.
Errors become one short message box (``FileBook``: the message and the exit code); never a
traceback in a cell or a popup. A step that fails leaves a workbook *file* untouched.

Blotter edits (Include = N, a different Limit) are part of what gets validated, approved and
sent: before Validate/Approve/Reject/Convert/Submit they are written into the day's
``trades.csv`` as its ``include``/``limit_price`` columns (the model's original is kept once as
``trades.model.csv``), so the CLI, reconciliation and TCA all see the same orders.

Quotes typed or pasted in the Quotes tab are part of what gets validated and sent too: before
Validate/Approve/Reject/Submit, new ones (not the quotes the tab was drawn with, and not what
``quotes.csv`` already holds) are checked like ``xlexec.formats.inputs.read_quotes`` checks a file (an
error names the tab's row and column; nothing is written) and saved atomically as the day's
``quotes.csv``, so the checks, submit's price collar and the audit trail all use them. With the
broker's quotes configured (Alpaca, Schwab, IBKR), the broker's quotes win (as in the CLI) and the
tab is not saved.
"""

from __future__ import annotations

import contextlib
import json
import re
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xlexec.core.money import usd
from xlexec.errors import OS_PROBLEMS, InputError, RefusedError, XlexecError, os_problem
from xlexec.excel.book import BookAdapter, open_book
from xlexec.excel.layout import SHEETS
from xlexec.excel.tradedate import parse_trade_date
from xlexec.store.day import Day

ALL_SHEETS = [s for s in SHEETS if s != "xlwings.conf"]  # every xlexec tab a press redraws
DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass
class ButtonResult:
    button: str
    result: str  # ok | refused | error
    message: str
    exit_code: int = 0
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.result == "ok"

    def to_json(self) -> dict[str, Any]:
        return {
            "button": self.button,
            "result": self.result,
            "message": self.message,
            "exit_code": self.exit_code,
            "data": self.data,
        }


@dataclass
class Session:
    name: str
    book: BookAdapter
    ctx: Any
    day: str
    inputs: Any

    @property
    def the_day(self) -> Day:
        return Day(self.ctx.live_dir, self.day)

    @property
    def day_dir(self) -> Path:
        return self.the_day.dir

    @property
    def trades_path(self) -> Path:
        return self.the_day.trades


# --------------------------------------------------------------------------- plumbing


def _os_result(name: str, e: OSError) -> ButtonResult:
    """An OS error as the button's answer: one clear line (exit 1) for the machine's state
    (:data:`~xlexec.errors.OS_PROBLEMS`), else an internal error naming where it happened."""
    if e.errno in OS_PROBLEMS:
        return ButtonResult(name, "error", os_problem(e), 1)
    tb = traceback.extract_tb(e.__traceback__)
    where = f" ({Path(tb[-1].filename).name}:{tb[-1].lineno})" if tb else ""
    return ButtonResult(name, "error", f"internal error: {type(e).__name__}: {e}{where}"[:500], 2)


def _context_for(book: BookAdapter, ctx=None):
    """``ctx`` when the caller holds one (``--config``, tests, a server); else the config the
    book records, resolved from the book's own folder (:mod:`xlexec.excel.bookconfig`). A book
    that records none, or whose config is missing or unreadable, refuses (ConfigError): never
    the built-in defaults, the current directory's config.yaml or an environment variable."""
    if ctx is not None:
        return ctx
    from xlexec.excel.bookconfig import config_path_for, load_book_config
    from xlexec.steps.context import Context
    from xlexec.store.journal import current_user

    cfg = load_book_config(config_path_for(book.path, book.config_ref()))
    return Context(cfg, cfg.user or current_user())


def _refuse_if_open(book: BookAdapter) -> None:
    """A headless press on a book that is open in Excel refuses before anything runs (see
    :mod:`xlexec.excel.booklock`): the step would run, then the file could not be replaced."""
    if book.kind != "file" or book.path is None or not book.path.exists():
        return
    from xlexec.excel.booklock import open_elsewhere

    why = open_elsewhere(book.path)
    if why:
        raise RefusedError(
            f"{book.path}: the workbook is open in Excel ({why}): close it first, or press the "
            "button in Excel; nothing done"
        )


def _where(ctx) -> str:
    """`` [config PATH · MODE]``: the config and the mode every button message names."""
    from xlexec.excel.modes import mode_text

    try:
        return f" [config {ctx.config.source} · {mode_text(ctx.config)}]"
    except Exception:  # noqa: BLE001 - a message never fails for this
        return ""


def _need_trades(s: Session) -> None:
    if not s.trades_path.exists():
        raise InputError(str(s.trades_path), f"no trades.csv for {s.day}: check the trade date on Control (B4)")


def _persist_blotter(s: Session) -> bool:
    """Write Blotter edits into trades.csv (include/limit_price); keep the model's file once."""
    from xlexec.excel.render import apply_blotter
    from xlexec.formats.csvio import atomic_write_bytes
    from xlexec.formats.trades import read_trades, write_trades

    _need_trades(s)
    trades = read_trades(s.trades_path, strict=False)
    t2, changed = apply_blotter(trades, s.inputs.blotter)
    if not changed:
        return False
    model = s.the_day.trades_model
    if not model.exists():
        atomic_write_bytes(model, s.trades_path.read_bytes())
    write_trades(t2, s.trades_path)
    return True


def _typed_quotes(s: Session):
    """The Quotes tab's quotes when the operator typed new ones, else None (see
    :func:`xlexec.excel.book.pending_quotes`). Raises ``InputError`` naming the tab's row and
    column for a bad cell. The broker's quotes, when configured (Alpaca, Schwab, IBKR), win: the
    tab is not used."""
    from xlexec.excel.book import pending_quotes
    from xlexec.execution.marketdata import quotes_configured

    if not s.inputs.quotes_block or quotes_configured(s.ctx.config):
        return None
    return pending_quotes(s.inputs, s.the_day.quotes)


def _save_quotes(s: Session, quotes) -> str:
    """Write typed quotes as the day's quotes.csv (atomic); the note for the button's message."""
    if quotes is None:
        return ""
    from xlexec.execution.marketdata import save_quotes

    sizes = [c for c in ("bid_size", "ask_size") if c in quotes.columns]
    if sizes:  # marketdata.save_quotes writes the five standard columns only: keep the sizes too
        from xlexec.formats.csvio import atomic_write_csv

        out = quotes[["symbol", "bid", "ask", "last", "timestamp"] + sizes].copy()
        out["timestamp"] = out["timestamp"].map(lambda t: t.isoformat() if t is not None and t == t else "")
        atomic_write_csv(s.the_day.quotes, out, {"bid": 2, "ask": 2, "last": 2})
    else:
        save_quotes(quotes, s.the_day.quotes)
    s.inputs.quotes_block = []  # saved: the tab now shows quotes.csv
    return f" ({len(quotes)} quotes from the Quotes tab saved to {s.the_day.quotes})"


def _recommended(s: Session) -> str | None:
    try:
        return json.loads(s.the_day.validation.read_text(encoding="utf-8")).get("decision")
    except (OSError, ValueError):
        return None


# --------------------------------------------------------------------------- the actions


def _load_trades(s: Session) -> tuple[str, list[str]]:
    """Start of the day: show trades.csv, and keep the positions the day starts from
    (``live/D/opening_positions.csv``, as ``xlexec demo`` does) so a rerun reconciles from them."""
    from xlexec.formats.csvio import atomic_write_bytes
    from xlexec.formats.trades import read_trades

    _need_trades(s)
    t = read_trades(s.trades_path, strict=False)
    s.inputs.blotter = {}  # start from the file's Include/Limit
    opening = s.the_day.opening_positions
    current = s.the_day.current_positions
    if not opening.exists() and current.exists():
        atomic_write_bytes(opening, current.read_bytes())
    return f"{len(t.df)} trades loaded from {s.trades_path}", ["Blotter", "Checks", "Approvals", "Orders"]


def _validate(s: Session):
    from xlexec.steps import validate as validate_steps

    quotes = _typed_quotes(s)  # checked before anything is written
    edited = _persist_blotter(s)
    saved = _save_quotes(s, quotes)
    opening = s.the_day.opening_positions  # the positions the day started from (Load Trades)
    res = validate_steps.validate(s.ctx, s.the_day, positions=opening if opening.exists() else None)
    data = res.to_json()
    d = data.get("decision", "?")
    summ = data.get("summary") or {}
    extra = " (Blotter edits saved to trades.csv)" if edited else ""
    return f"validation recommends {d}{extra}{saved}", ["Blotter", "Checks", "Quotes"], {"decision": d, "summary": summ}


def _approval_inputs(s: Session) -> tuple[str, str]:
    who = (s.inputs.approver or "").strip()
    why = (s.inputs.reason or "").strip()
    if not who:
        raise InputError("Control", "type the approver's name first", row=12, column="B")
    if not why:
        raise InputError("Control", "type the reason first", row=15, column="B")
    return who, why


def _yes(text: str | None) -> bool:
    return (text or "").strip().upper() in ("Y", "YES", "TRUE", "1")


def _approve(s: Session):
    from xlexec.steps import validate as validate_steps

    who, why = _approval_inputs(s)
    rec = _recommended(s)
    decision = (s.inputs.decision or "").strip().upper()
    if decision == "REJECTED":
        raise RefusedError("Decision on Control says REJECTED: press Reject, or change the Decision cell")
    if decision and decision not in ("APPROVED", "CONDITIONAL"):
        raise InputError("Control", f"Decision must be APPROVED, CONDITIONAL or REJECTED, got {decision[:40]!r}")
    if not decision:
        decision = "CONDITIONAL" if rec == "CONDITIONAL" else "APPROVED"
    override = _yes(s.inputs.override)
    quotes = _typed_quotes(s)
    edited = _persist_blotter(s)
    saved = _save_quotes(s, quotes)
    res = validate_steps.approve(s.ctx, s.the_day, by=who, decision=decision, reason=why, override=override)
    extra = " (Blotter edits saved to trades.csv)" if edited else ""
    done = "already recorded (nothing changed)" if res.row.get("already") else "recorded"
    return f"{decision} {done} for {s.day} by {who}{extra}{saved}", ["Approvals", "Blotter", "Quotes"], res.to_json()


def _reject(s: Session):
    from xlexec.steps import validate as validate_steps

    who, why = _approval_inputs(s)
    decision = (s.inputs.decision or "").strip().upper()
    if decision and decision != "REJECTED":
        raise RefusedError(f"Decision on Control says {decision}: press Approve, or change the Decision cell")
    quotes = _typed_quotes(s)
    _persist_blotter(s)
    saved = _save_quotes(s, quotes)
    res = validate_steps.approve(s.ctx, s.the_day, by=who, decision="REJECTED", reason=why)
    done = "already recorded (nothing changed)" if res.row.get("already") else "recorded"
    return f"REJECTED {done} for {s.day} by {who}{saved}", ["Approvals", "Quotes"], res.to_json()


def _convert(s: Session):
    from xlexec.formats.upload import FORMATS
    from xlexec.steps import convert as convert_step

    fmt = (s.inputs.convert_to or "").strip().lower() or "ibkr"
    if fmt not in FORMATS:
        raise InputError("Control", f"unknown broker format {fmt!r}; one of: {', '.join(FORMATS)}", row=7, column="B")
    _persist_blotter(s)
    # the file carries the day's slicing plan, as Submit sends it
    res = convert_step.convert(s.ctx, s.the_day, broker=fmt, slice=_wants_slice(s) or _has_slice_schedule(s))
    return f"{fmt} file written: {res.output}", [], res.to_json()


def _wants_slice(s: Session) -> bool:
    """Control's "Slice large orders (Y/N)" (B16) says Y: Convert and Submit slice."""
    return _yes(s.inputs.slice)


def _has_slice_schedule(s: Session) -> bool:
    """The journal holds an ADV slicing schedule for today's orders or children due today:
    then Submit sends the plan (``submit --slice``), never the full quantity on top of it."""
    from xlexec.execution import slicing
    from xlexec.formats.trades import read_trades

    orders, sha = slicing.day_orders(read_trades(s.trades_path), s.ctx.config.execution.default_order_type, s.day)
    return slicing.slicing_state(s.ctx.journal(), s.the_day, sha).has_schedule


def _submit(s: Session):
    from xlexec.excel.modes import account_text
    from xlexec.excel.render import is_live, mode_text
    from xlexec.steps import execution as execution_steps

    _need_trades(s)
    cfg = s.ctx.config
    live = False
    if is_live(cfg):
        ok = s.book.confirm(
            f"LIVE ACCOUNT ({cfg.execution.broker} · {account_text(cfg)}): send the approved orders of "
            f"{s.day} with REAL MONEY?",
            title="xlexec: confirm LIVE submission",
        )
        if not ok:
            raise RefusedError(
                "live submission not confirmed: nothing sent (headless: add --live; "
                "Excel: answer Yes in the confirmation dialog)"
            )
        live = True
    quotes = _typed_quotes(s)
    _persist_blotter(s)
    saved = _save_quotes(s, quotes)
    want_slice = _wants_slice(s) or _has_slice_schedule(s)  # Control says Y, or a schedule exists for today
    s.book.status(f"xlexec: submitting the orders of {s.day} · {mode_text(cfg)} ...")
    modes: list[str] = []
    res = execution_steps.submit(
        s.ctx,
        s.the_day,
        live=live,
        slice=want_slice,
        on_mode=lambda m: modes.append(f"xlexec submit: mode {m['text']}"),
    )
    d = res.to_json()
    text = res.summary()
    if res.exit_code != 0:
        msg = " ".join(" ".join(modes).split())
        raise RefusedError(f"{text}{saved}{'; ' + msg if msg else ''}")
    return f"{text}{saved}", ["Orders", "Quotes"], d


def _refresh_status(s: Session):
    from xlexec.steps import execution as execution_steps

    s.book.status(f"xlexec: asking the broker for the status of {s.day}'s orders ...")
    res = execution_steps.status(s.ctx, s.the_day)
    return f"order status refreshed ({len(res.orders)} orders)", ["Orders"], res.to_json()


def _cancel_all(s: Session):
    from xlexec.steps import execution as execution_steps

    s.book.status("xlexec: KILL SWITCH: cancelling every open order ...")
    res = execution_steps.cancel_all(
        s.ctx, Day(s.ctx.live_dir, s.ctx.today()), reason=f"kill switch (workbook, {s.ctx.user})"
    )
    d = res.to_json()
    if not res.ok:
        raise RefusedError(
            f"WARNING: {len(d['still_open'])} order(s) still open"
            + (f"; {d['error']}" if d["error"] else "")
            + (
                f"; NOT RECORDED: {len(d['cancelled'])} order(s) cancelled at the broker but {d['record_error']}"
                if d.get("record_error")
                else ""
            )
        )
    if d.get("already"):
        return (
            f"kill switch: already triggered at {d['triggered_at']}; nothing open, this cancel-all already "
            "recorded (nothing changed)",
            ["Orders"],
            d,
        )
    n = d.get("cancelled")
    n = len(n) if isinstance(n, list) else n
    return (
        f"kill switch: {n if n is not None else 'all'} open orders cancelled; live/KILL_SWITCH written",
        ["Orders"],
        d,
    )


def _import_fills(s: Session):
    from xlexec.excel import fills_tab
    from xlexec.excel.build import FILLS_PASTE_ROW
    from xlexec.steps import fills as fills_step

    block = s.inputs.fills_block
    if block:
        fills, skipped, _ = fills_tab.imported(s.ctx, s.the_day)
        if fills is not None and fills_tab.is_drawn(s.ctx, block, fills):  # the tab shows the import: a rerun
            s.inputs.fills_block = []
            return (
                f"the Fills tab shows the {len(fills)} fills already imported into {s.the_day.fills}: "
                "nothing changed (paste another block over them to replace them)",
                ["Fills"],
                {"fills": len(fills), "skipped": skipped},
            )
    if not block:
        s.book.status(f"xlexec: downloading {s.day}'s fills from the broker ...")
    res = fills_step.import_fills(
        s.ctx, s.the_day, block=s.inputs.fills_block or None, block_name="Fills tab", first_row=FILLS_PASTE_ROW + 1
    )
    s.inputs.fills_block = []  # imported: the tab now shows broker_fills.csv
    return res.message(), ["Fills"], res.to_json()


def _reconcile(s: Session):
    from xlexec.steps import reconcile as reconcile_steps

    _need_trades(s)
    day = s.the_day
    if not day.fills.exists():
        raise RefusedError("no broker_fills.csv yet: press Import Fills first")
    # the positions the day started from: its opening snapshot (taken at the first reconcile
    # from what Load Trades kept, else live/current_positions.csv), as the CLI does
    res = reconcile_steps.reconcile(s.ctx, day)
    d = res.to_json()
    breaks = len(d.get("breaks") or [])
    return (
        (f"{d.get('execution_counts')}, {breaks} breaks; review, then press Accept Positions"),
        ["Reconcile", "Positions"],
        d,
    )


def _accept_positions(s: Session):
    """Accept Positions; over open breaks only with Override Y and a Reason on Control (as
    Approve takes its reason), journaled with the OS login."""
    from xlexec.steps import reconcile as reconcile_steps

    why = (s.inputs.reason or "").strip() if _yes(s.inputs.override) else None
    res = reconcile_steps.accept(s.ctx, s.the_day, force_reason=why or None)
    if res.already:
        return (
            f"reconciled positions of {s.day} already accepted as {res.path} (nothing changed)",
            ["Positions"],
            res.to_json(),
        )
    over = " over open breaks (Override and Reason journaled)" if res.forced else ""
    return f"reconciled positions of {s.day} accepted as {res.path}{over}", ["Positions"], res.to_json()


def _tca(s: Session):
    from xlexec.steps import tca as tca_steps

    res = tca_steps.tca(s.ctx, s.the_day)
    tot = res.document.get("total") or {}
    return f"TCA written: total cost {usd(tot.get('usd'))}", ["TCA"], res.to_json()


def _monthly_report(s: Session):
    from xlexec.steps import tca as tca_steps

    res = tca_steps.monthly(s.ctx, s.the_day)
    return f"monthly report {res.month} written to live/monthly_costs.csv", ["Monthly"], res.to_json()


ACTIONS: dict[str, Callable[[Session], tuple]] = {
    "load_trades": _load_trades,
    "validate": _validate,
    "approve": _approve,
    "reject": _reject,
    "convert": _convert,
    "submit": _submit,
    "refresh_status": _refresh_status,
    "cancel_all": _cancel_all,
    "import_fills": _import_fills,
    "reconcile": _reconcile,
    "accept_positions": _accept_positions,
    "tca": _tca,
    "monthly_report": _monthly_report,
}


def _progress(adapter: BookAdapter, text: str) -> None:
    """Status-bar text of the generic steps (Excel only; a file run prints only long work)."""
    if adapter.kind != "file":
        adapter.status(text)


def _journal_action(ctx, day: str, res: ButtonResult, kind: str) -> None:
    from xlexec.store.journal import ACTION

    now = ctx.now().isoformat()
    payload = {
        "source": "workbook",
        "button": res.button,
        "who": ctx.user,
        "when_utc": now,
        "result": res.result,
        "message": res.message[:1000],
        "book": kind,
    }
    ctx.journal().append(
        ACTION, f"{now}|workbook|{res.button}|{uuid.uuid4().hex[:12]}", payload, day=day, actor=ctx.user
    )


def run_button(
    name: str,
    book=None,
    *,
    ctx=None,
    day: str | None = None,
    live: bool = False,
    echo=None,
    set_inputs: dict[str, str] | None = None,
) -> ButtonResult:
    """Run button ``name`` on ``book`` (see :func:`xlexec.excel.book.open_book`).

    ``live`` is the headless equivalent of answering Yes to the LIVE confirmation dialog;
    ``set_inputs`` types Control inputs first (``approver``, ``reason``, ... headless only).
    Never raises for an operator-facing problem: the result says ``ok``/``refused``/``error``.
    """
    if name not in ACTIONS:
        raise ValueError(f"unknown button {name!r}; one of: {', '.join(ACTIONS)}")
    adapter = None
    own_ctx = ctx is None
    res: ButtonResult
    session = None
    try:
        adapter = open_book(book, live_confirmed=live, echo=echo, overrides=set_inputs)
        _refuse_if_open(adapter)  # before the config, the journal, the step: nothing touched
        ctx = _context_for(adapter, ctx)
        inputs = adapter.inputs()
        typed = inputs.trade_date  # Control!B4 as typed: read by xlexec.excel.tradedate's rule
        d = day or (parse_trade_date(typed, ctx.config.workbook.slash_dates) if typed else None) or ctx.today()
        if not DAY_RE.match(str(d)):
            raise InputError("Control", f"trade date must be YYYY-MM-DD, got {str(d)[:20]!r}", row=4, column="B")
        try:
            Day(ctx.live_dir, str(d))
        except InputError:
            raise InputError(
                "Control", f"trade date is not a calendar day: {str(d)[:20]!r}", row=4, column="B"
            ) from None
        inputs.trade_date = d
        session = Session(name, adapter, ctx, d, inputs)
        _progress(adapter, f"xlexec: {name.replace('_', ' ')} ...")
        out = ACTIONS[name](session)
        message, sheets = out[0], out[1]
        data = out[2] if len(out) > 2 else {}
        res = ButtonResult(name, "ok", message + _where(ctx), 0, data if isinstance(data, dict) else {})
    except XlexecError as e:
        res = ButtonResult(name, "refused" if e.exit_code in (1, 3) else "error", " ".join(str(e).split()), e.exit_code)
        sheets = []
    except OSError as e:  # disk full, read-only live/...: the machine's state, said in one line
        res = _os_result(name, e)
        sheets = []
    except Exception as e:  # noqa: BLE001 - an operator sees one line, never a traceback
        tb = traceback.extract_tb(e.__traceback__)
        where = f" ({Path(tb[-1].filename).name}:{tb[-1].lineno})" if tb else ""
        res = ButtonResult(name, "error", f"internal error: {type(e).__name__}: {e}{where}"[:500], 2)
        sheets = []
    if not res.ok and ctx is not None:
        res.message += _where(ctx)
    try:
        if session is not None and adapter is not None:  # a session always has its book
            _journal_action(ctx, session.day, res, adapter.kind)
            if res.ok:
                from xlexec.excel.render import collect

                _progress(adapter, f"xlexec: {name.replace('_', ' ')}: updating the workbook ...")
                data = collect(ctx, session.day, session.inputs)  # the press's one view-model pass
                if adapter.kind == "file":
                    adapter.commit(ctx, session.day, data)
                else:
                    adapter.show(data, ["Control", "Log"] + [x for x in sheets if x not in ("Control", "Log")])
            elif adapter.kind != "file":
                from xlexec.excel.render import collect

                adapter.show(collect(ctx, session.day, session.inputs), ["Control", "Log"])
    except XlexecError as e:
        res = ButtonResult(name, "error", f"the step ran, but the workbook could not be updated: {e}", e.exit_code)
    except Exception as e:  # noqa: BLE001
        res = ButtonResult(
            name, "error", f"the step ran, but the workbook could not be updated: {type(e).__name__}: {e}"[:500], 2
        )
    if adapter is not None:
        _progress(adapter, f"xlexec: {name.replace('_', ' ')}: {res.result}")
        if not res.ok:
            adapter.alert(res.message, title=f"xlexec: {name.replace('_', ' ')} {res.result}")
    if own_ctx and ctx is not None:
        with contextlib.suppress(Exception):
            ctx.close()
    return res


# --------------------------------------------------------------------------- RunPython entry points


def load_trades(book=None, **kw) -> ButtonResult:
    """Load Trades: the day's trades.csv into the Blotter (Include/Limit reset to the file's)."""
    return run_button("load_trades", book, **kw)


def validate(book=None, **kw) -> ButtonResult:
    """Validate: the pre-trade checks (``xlexec validate``) on what the Blotter would send."""
    return run_button("validate", book, **kw)


def approve(book=None, **kw) -> ButtonResult:
    """Approve: ``xlexec approve`` with Control's approver, decision, override and reason."""
    return run_button("approve", book, **kw)


def reject(book=None, **kw) -> ButtonResult:
    """Reject: ``xlexec approve --decision REJECTED`` with Control's approver and reason."""
    return run_button("reject", book, **kw)


def convert(book=None, **kw) -> ButtonResult:
    """Convert: the broker upload file in Control's format (``xlexec convert``)."""
    return run_button("convert", book, **kw)


def submit(book=None, **kw) -> ButtonResult:
    """Submit: ``xlexec submit``; a LIVE account asks for confirmation first."""
    return run_button("submit", book, **kw)


def refresh_status(book=None, **kw) -> ButtonResult:
    """Refresh Status: ``xlexec status`` for the day."""
    return run_button("refresh_status", book, **kw)


def cancel_all(book=None, **kw) -> ButtonResult:
    """Cancel All / Kill Switch: ``xlexec cancel-all`` (no confirmation: it must always work)."""
    return run_button("cancel_all", book, **kw)


def import_fills(book=None, **kw) -> ButtonResult:
    """Import Fills: the Fills tab's pasted block (any layout), else the broker's fills."""
    return run_button("import_fills", book, **kw)


def reconcile(book=None, **kw) -> ButtonResult:
    """Reconcile: ``xlexec reconcile`` on the imported fills."""
    return run_button("reconcile", book, **kw)


def accept_positions(book=None, **kw) -> ButtonResult:
    """Accept Positions: the reconciled positions become live/current_positions.csv."""
    return run_button("accept_positions", book, **kw)


def tca(book=None, **kw) -> ButtonResult:
    """TCA: ``xlexec tca`` for the day."""
    return run_button("tca", book, **kw)


def monthly_report(book=None, **kw) -> ButtonResult:
    """Monthly Report: ``xlexec monthly`` for the trade date's month."""
    return run_button("monthly_report", book, **kw)


BUTTON_FUNCTIONS = {name: globals()[name] for name in ACTIONS}
