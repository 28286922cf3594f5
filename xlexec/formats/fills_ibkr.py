"""Interactive Brokers Flex files as a whole: Flex XML and sectioned Flex CSV, into the string
frame the ``ibkr`` fills layout reads (:func:`xlexec.formats.fills._from_ibkr`), and the
``OpenPositions`` section for compare-positions.

**Flex XML** (the Flex Query default): ``FlexQueryResponse > FlexStatements > FlexStatement
(accountId) > Trades > Trade`` (Activity Flex) or ``> TradeConfirms > TradeConfirm`` (Trade
Confirmation Flex), each record's fields as XML attributes (``accountId, currency,
assetCategory, symbol, conid, tradeID, ibExecID, ibOrderID, orderReference, tradeDate,
dateTime, quantity, tradePrice, ibCommission, ibCommissionCurrency, buySell, levelOfDetail,
openCloseIndicator, notes, transactionType, origTradeID``); positions are ``OpenPositions >
OpenPosition`` (``symbol, position, costBasisPrice, assetCategory, currency, levelOfDetail``).
Other elements inside ``Trades`` (``Order``, ``SymbolSummary``, ``Lot``...) are summaries and
are listed as skipped. Parsed with ``defusedxml`` (no DTDs, no entity expansion, no external
resources: a Flex file is data from outside). Sources: IBKR Reporting Reference (Flex Queries,
Trades and Trade Confirmation fields) and the field names of the csingley/ibflex parser
(``ibflex/Types.py``: ``Trade``, ``TradeConfirm``, ``OpenPosition``; ``enums.py``: ``Code.CANCEL
= "Ca"``, ``TradeType.TRADECANCEL``, ``BuySell.CANCELBUY = "BUY (Ca.)"``).

**Flex CSV**, with or without *header and trailer records* and *section code and line
descriptor* (IBKR Reporting Reference, "Delivery Configuration"): ``BOF`` (account, number of
sections, from, to, generated...), ``BOA`` (account), ``BOS`` (section code, description) - the
section's header row - its rows - ``EOS`` (section code, number of records, amount checksum),
``EOA``, ``EOF``; with line descriptors every header row is ``HEADER,<code>,...`` and every
record ``DATA,<code>,...``. Without trailer records, sections follow each other, each under its
own header row (a row with no digit in any cell). Sections come in any order: the trades are
the sections whose header is the ``ibkr`` layout's; every other section is listed as skipped
(one entry per section). An ``EOS`` record count that differs from the rows read refuses the
file (truncated or edited). A record without ``ClientAccountID`` takes the account of its
``BOA`` / ``BOF`` / ``FlexStatement``.

Frames are indexed by the file's line number (XML: the line its element starts on; when
several records share a line, their 1-based position in the file).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from xml.sax import SAXParseException
from xml.sax.handler import ContentHandler

import pandas as pd

from xlexec.errors import InputError
from xlexec.formats import fills as F
from xlexec.formats.csvio import iter_lines, split_lines

# XML attribute (lower case) -> the Flex CSV column name (lower case) the layout reads
_XML_TO_CSV = {
    "accountid": "clientaccountid",
    "currency": "currencyprimary",
    "assetcategory": "assetclass",
    "buysell": "buy/sell",
    "notes": "notes/codes",
    "position": "quantity",
}
_TRADE_TAGS = {"Trade", "TradeConfirm"}
_TRADE_CONTAINERS = {"Trades", "TradeConfirms"}
_MARKERS = {"BOF", "BOA", "BOS", "EOS", "EOA", "EOF", "HEADER", "DATA"}
_DIGIT = re.compile(r"\d")


# ------------------------------------------------------------------ XML


def is_flex_xml(text: str) -> bool:
    head = text.lstrip("\ufeff \t\r\n")[:4000]
    return head.startswith("<") and ("FlexQueryResponse" in head or "FlexStatement" in head)


@dataclass
class _Records:
    trades: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    positions: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    set_aside: list[tuple[int, str]] = field(default_factory=list)
    statements: int = 0
    message: str = ""


class _FlexHandler(ContentHandler):
    def __init__(self) -> None:
        super().__init__()
        self.out = _Records()
        self.stack: list[str] = []
        self.account = ""
        self._locator = None
        self._in_message = False

    def setDocumentLocator(self, locator) -> None:  # noqa: N802  (SAX API)
        self._locator = locator

    def _line(self) -> int:
        return int(self._locator.getLineNumber()) if self._locator is not None else 0

    def startElement(self, tag, attrs) -> None:  # noqa: N802  (SAX API)
        parent = self.stack[-1] if self.stack else ""
        self.stack.append(tag)
        rec = {_XML_TO_CSV.get(k.lower(), k.lower()): (v or "").strip() for k, v in attrs.items()}
        if tag == "FlexStatement":
            self.account = rec.get("clientaccountid", "")
            self.out.statements += 1
        elif tag == "ErrorMessage" or tag == "Message":
            self._in_message = True
        if parent in _TRADE_CONTAINERS:
            if tag in _TRADE_TAGS:
                rec.setdefault("clientaccountid", self.account)
                if not rec["clientaccountid"]:
                    rec["clientaccountid"] = self.account
                self.out.trades.append((self._line(), rec))
            else:
                self.out.set_aside.append((self._line(), f"{tag} record: a summary, not an execution"))
        elif parent == "OpenPositions" and tag == "OpenPosition":
            if not rec.get("clientaccountid"):
                rec["clientaccountid"] = self.account
            self.out.positions.append((self._line(), rec))

    def characters(self, content) -> None:
        if self._in_message:
            self.out.message += content

    def endElement(self, tag) -> None:  # noqa: N802  (SAX API)
        self.stack.pop()
        if tag in ("ErrorMessage", "Message"):
            self._in_message = False


def _parse_xml(text: str, name: str) -> _Records:
    # imported here: defusedxml.sax brings urllib.request, http.client and ssl, which only a
    # Flex XML file needs (never a CSV of fills, nor a workbook press)
    from defusedxml import DefusedXmlException
    from defusedxml.sax import parseString

    h = _FlexHandler()
    body = text.lstrip("\ufeff")
    lead = len(body) - len(body.lstrip())
    if lead and body[lead:].startswith("<?xml"):  # lines above the declaration (a pasted block's
        end = body.find("?>", lead)  # first rows): the declaration blanked, line numbers kept
        if end > 0:
            body = body[:lead] + " " * (end + 2 - lead) + body[end + 2 :]
    try:
        parseString(body.encode("utf-8"), h, forbid_dtd=True)
    except DefusedXmlException as e:
        why = f"refused XML: {type(e).__name__} (DTDs and entities are not read in a Flex file)"
        raise InputError(name, why) from None
    except SAXParseException as e:
        raise InputError(name, f"malformed Flex XML: {e.getMessage()}", row=e.getLineNumber()) from None
    if h.out.statements == 0:
        why = f": {h.out.message.strip()[:200]}" if h.out.message.strip() else ""
        raise InputError(name, f"a Flex XML file without a FlexStatement{why}")
    return h.out


def _frame(records: list[tuple[int, dict[str, str]]]) -> pd.DataFrame:
    lines = [n for n, _ in records]
    index = lines if len(set(lines)) == len(lines) else list(range(1, len(records) + 1))
    df = pd.DataFrame.from_records([r for _, r in records]).fillna("").astype(object) if records else pd.DataFrame()
    df.index = pd.Index(index, name="row")
    return df


def _with_trade_columns(df: pd.DataFrame) -> pd.DataFrame:
    for c in ("symbol", "buy/sell", "quantity"):
        if c not in df.columns:
            df[c] = pd.Series("", index=df.index, dtype=object)
    return df


@F.register_document("ibkr", is_flex_xml)
def flex_xml_trades(text: str, name: str) -> pd.DataFrame:
    """The executions of a Flex XML file (``Trade`` and ``TradeConfirm`` records)."""
    recs = _parse_xml(text, name)
    df = _with_trade_columns(_frame(recs.trades))
    df.attrs["set_aside"] = recs.set_aside
    return df


# ------------------------------------------------------------------ sectioned CSV


@dataclass
class Section:
    """One section of a Flex CSV: its code and description (``BOS``; '' without trailer
    records), the header row (cells as written) and its line, and ``rows`` = ``[(line, cells)]``."""

    code: str
    title: str
    start: int
    header: list[str] = field(default_factory=list)
    header_line: int = 0
    rows: list[tuple[int, list[str]]] = field(default_factory=list)
    account: str = ""
    declared: int | None = None  # the EOS record count


def _cells(line: str) -> list[str]:
    return next(csv.reader([line]), [])


def _marked(rows: list[tuple[int, list[str]]]) -> bool:
    return bool(rows) and rows[0][1][:1] != [] and rows[0][1][0].strip().upper() in _MARKERS


def is_flex_csv(text: str) -> bool:
    """A Flex CSV with header/trailer records or line descriptors, or one whose header is the
    ``ibkr`` layout's (possibly under other sections)."""
    if text.lstrip("\ufeff \t\r\n")[:1] == "<":
        return False
    seen = 0
    slash = "/" in text  # no '/' anywhere: no later line can be the ibkr header (a Buy/Sell cell)
    for line in iter_lines(text.lstrip("\ufeff")):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if seen and not slash:
            return False
        if seen and "buy/sell" not in line.replace('"', "").lower():
            seen += 1  # no Buy/Sell cell: not the ibkr header (whose cells need one)
            if seen >= 200:
                return False
            continue
        cells = _cells(line)
        first = cells[0].strip().upper() if cells else ""
        if seen == 0 and first in ("BOF", "BOA", "BOS", "HEADER"):
            return True
        if F.LAYOUTS["ibkr"].matches(set(F._norm(cells)) - {""}):
            return True
        seen += 1
        if seen >= 200:
            return False
    return False


def _header_like(cells: list[str]) -> bool:
    filled = [c for c in cells if c.strip()]
    return len(filled) >= 2 and not any(_DIGIT.search(c) for c in filled)


def flex_sections(text: str, name: str) -> list[Section]:
    """Split a Flex CSV into its sections (see the module docstring)."""
    rows = []
    for i, line in enumerate(split_lines(text.lstrip("\ufeff"))):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            rows.append((i + 1, _cells(line)))
        except csv.Error as e:
            raise InputError(name, f"malformed CSV: {e}", row=i + 1) from None
    sections: list[Section] = []
    by_code: dict[str, Section] = {}
    account = ""
    cur: Section | None = None
    marked = _marked(rows)
    for n, cells in rows:
        tag = cells[0].strip().upper() if cells else ""
        if marked and tag in ("BOF", "BOA"):
            account = cells[1].strip() if len(cells) > 1 else account
            continue
        if marked and tag in ("EOA", "EOF"):
            continue
        if marked and tag == "BOS":
            code = cells[1].strip() if len(cells) > 1 else ""
            cur = Section(code, cells[2].strip() if len(cells) > 2 else "", n, account=account)
            sections.append(cur)
            by_code[code] = cur
            continue
        if marked and tag == "EOS":
            code = cells[1].strip() if len(cells) > 1 else ""
            sec = by_code.get(code) or cur
            if sec is not None and len(cells) > 2 and cells[2].strip().isdigit():
                sec.declared = int(cells[2].strip())
                if sec.declared != len(sec.rows):
                    raise InputError(
                        name,
                        f"section {code} ({sec.title or 'untitled'}) ends saying {sec.declared} record(s) but "
                        f"{len(sec.rows)} were read: the file is truncated or was edited; export it again",
                        row=n,
                    )
            cur = None
            continue
        if marked and tag in ("HEADER", "DATA"):
            code = cells[1].strip() if len(cells) > 1 else ""
            sec = by_code.get(code)
            if sec is None or (tag == "HEADER" and sec.header and sec is not cur):
                sec = Section(code, "", n, account=account)
                sections.append(sec)
                by_code[code] = sec
            cur = sec
            if tag == "HEADER":
                if not sec.header:
                    sec.header, sec.header_line = cells[2:], n
            else:
                sec.rows.append((n, cells[2:]))
            continue
        if cur is None or (not marked and cur.header and _header_like(cells)):
            cur = Section("", "", n, account=account)
            sections.append(cur)
        if not cur.header:
            cur.header, cur.header_line = cells, n
        else:
            cur.rows.append((n, cells))
    return sections


def section_frame(sec: Section, name: str) -> pd.DataFrame:
    """A section's rows as the string frame layouts read (lower-case header; index = line)."""
    cols = F._norm(sec.header)
    if sec.rows:
        df = F._frame_from_rows(sec.header, [r for _, r in sec.rows], [n for n, _ in sec.rows], name, sec.header_line)
    else:
        df = pd.DataFrame(columns=[c for c in dict.fromkeys(cols) if c], dtype=object)
        df.index = pd.Index([], name="row", dtype=int)
    if sec.account:
        acct = _account_column(df)
        if acct is None:
            df["clientaccountid"] = sec.account
        else:
            df[acct] = df[acct].where(df[acct] != "", sec.account)
    return df


def _account_column(df: pd.DataFrame) -> str | None:
    return next((c for c in ("clientaccountid", "accountid") if c in df.columns), None)


def _describe(sec: Section) -> str:
    what = f"section {sec.code}" if sec.code else "section"
    if sec.title:
        what += f" ({sec.title})"
    elif not sec.code:
        what += f" with header {','.join(c for c in sec.header if c.strip())[:60]}"
    return what


def sections_matching(
    text: str, name: str, matches, what: str
) -> tuple[list[tuple[Section, pd.DataFrame]], list[tuple[int, str]]]:
    """The sections whose header ``matches`` (as frames), and one skipped entry per other section."""
    found, aside = [], []
    secs = flex_sections(text, name)
    for sec in secs:
        h = set(F._norm(sec.header)) - {""}
        if sec.header and matches(h):
            found.append((sec, section_frame(sec, name)))
        else:
            aside.append((sec.start, f"{_describe(sec)}: {len(sec.rows)} row(s), not {what}"))
    if not found:
        seen = "; ".join(f"{_describe(s)} header {','.join(c for c in F._norm(s.header) if c)[:80]}" for s in secs[:6])
        raise InputError(name, f"no {what} section in this Flex file (sections: {seen or 'none'})")
    return found, aside


@F.register_document("ibkr", is_flex_csv)
def flex_csv_trades(text: str, name: str) -> pd.DataFrame:
    """The executions of a Flex CSV: every trades section, in file order."""
    found, aside = sections_matching(text, name, F.LAYOUTS["ibkr"].matches, "trades")
    frames = [df for _, df in found]
    df = frames[0] if len(frames) == 1 else pd.concat(frames).fillna("").astype(object)
    df.attrs["set_aside"] = aside
    return df


# ------------------------------------------------------------------ positions


def _is_positions_header(h: set[str]) -> bool:
    return (
        "symbol" in h
        and "buy/sell" not in h
        and bool({"position", "quantity"} & h)
        and bool({"assetclass", "conid", "markprice"} & h)
    )


def flex_positions(text: str, name: str) -> pd.DataFrame:
    """The ``OpenPositions`` records of a Flex XML or CSV file, as a string frame with
    lower-case Flex CSV column names (``symbol, quantity, costbasisprice, assetclass,
    currencyprimary, clientaccountid, levelofdetail``...). ``attrs["set_aside"]``: other
    sections."""
    if is_flex_xml(text):
        recs = _parse_xml(text, name)
        if not recs.positions:
            raise InputError(name, "no OpenPositions section in this Flex XML file: add Open Positions to the query")
        df = _frame(recs.positions)
        df.attrs["set_aside"] = []
        return df
    found, aside = sections_matching(text, name, _is_positions_header, "open positions")
    frames = [df for _, df in found]
    df = frames[0] if len(frames) == 1 else pd.concat(frames).fillna("").astype(object)
    df.attrs["set_aside"] = aside
    return df


def is_flex_positions(text: str) -> bool:
    if is_flex_xml(text):
        return "OpenPosition" in text
    rows = [line for line in split_lines(text.lstrip("\ufeff"))[:3] if line.strip()]
    first = _cells(rows[0])[0].strip().upper() if rows and _cells(rows[0]) else ""
    return first in ("BOF", "BOA", "BOS", "HEADER")
