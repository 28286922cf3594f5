"""Office Open XML packaging: an ``.xlsx`` + a ``vbaProject.bin`` -> a macro-enabled ``.xlsm``.

:func:`make_xlsm` adds the part and its content type (``application/vnd.ms-office.vbaProject``),
the ``vbaProject`` relationship of the workbook part, and the ``codeName`` attributes
(``workbookPr``, ``sheetPr``) that tie the document modules to the workbook and its sheets;
:func:`add_to_xlsxwriter` hands the binary to XlsxWriter instead.
"""

from __future__ import annotations

import contextlib
import html
import io
import os
import posixpath
import re
import tempfile
import zipfile
from collections.abc import Mapping

from xlexec.vba.modules import _check_name, document_module_names

# ---------------------------------------------------------------------------
# .xlsx -> .xlsm
# ---------------------------------------------------------------------------

_CT_WORKBOOK_MACRO = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
_CT_WORKBOOK_TEMPLATE_MACRO = "application/vnd.ms-excel.template.macroEnabled.main+xml"
_CT_VBA = "application/vnd.ms-office.vbaProject"
_REL_VBA = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"
_REL_OFFICE_DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
_REL_WORKSHEET = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"

_ATTR_RE = re.compile(r'([\w:.-]+)\s*=\s*("[^"]*"|\'[^\']*\')')


def _attrs(tag: str) -> dict[str, str]:
    return {k: html.unescape(v[1:-1]) for k, v in _ATTR_RE.findall(tag)}


def _set_attr(tag: str, name: str, value: str) -> str:
    """Set attribute ``name`` on a start/empty tag string ``<x ...>`` / ``<x .../>``."""
    value = html.escape(value, quote=True)
    pat = re.compile(r"(\s" + re.escape(name) + r"\s*=\s*)(\"[^\"]*\"|'[^']*')")
    if pat.search(tag):
        return pat.sub(lambda m: f'{m.group(1)}"{value}"', tag, count=1)
    end = -2 if tag.endswith("/>") else -1
    return tag[:end].rstrip() + f' {name}="{value}"' + tag[end:]


def _tag_re(local: str) -> re.Pattern[str]:
    # start or empty tag with an optional namespace prefix
    return re.compile(r"<(?:[\w.-]+:)?" + local + r"(?=[\s/>])[^>]*>")


def _rels_path(part: str) -> str:
    d, f = posixpath.split(part)
    return posixpath.join(d, "_rels", f + ".rels")


def _resolve(base_part: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(base_part), target))


def _relationships(xml: str) -> list[dict[str, str]]:
    return [_attrs(m.group(0)) for m in _tag_re("Relationship").finditer(xml)]


def _prefix_of(xml: str, local: str) -> str:
    m = re.search(r"<([\w.-]+:)?" + local + r"[\s/>]", xml)
    return (m.group(1) or "") if m else ""


def _set_workbook_codename(xml: str, codename: str) -> str:
    m = _tag_re("workbookPr").search(xml)
    if m:
        return xml[: m.start()] + _set_attr(m.group(0), "codeName", codename) + xml[m.end() :]
    # CT_Workbook order: fileVersion?, fileSharing?, workbookPr?, ...
    prefix = _prefix_of(xml, "workbook")
    new = f'<{prefix}workbookPr codeName="{codename}"/>'
    anchor = None
    for local in ("fileSharing", "fileVersion"):
        am = re.search(
            r"<(?:[\w.-]+:)?" + local + r"(?=[\s/>])[^>]*?(/>|>.*?</(?:[\w.-]+:)?" + local + ">)", xml, re.DOTALL
        )
        if am:
            anchor = am.end()
            break
    if anchor is None:
        wm = _tag_re("workbook").search(xml)
        if not wm:
            raise ValueError("workbook part has no <workbook> element")
        anchor = wm.end()
    return xml[:anchor] + new + xml[anchor:]


def _set_sheet_codename(xml: str, codename: str) -> str:
    m = _tag_re("sheetPr").search(xml)
    if m:
        return xml[: m.start()] + _set_attr(m.group(0), "codeName", codename) + xml[m.end() :]
    wm = _tag_re("worksheet").search(xml)
    if not wm:
        raise ValueError("worksheet part has no <worksheet> element")
    if wm.group(0).endswith("/>"):
        raise ValueError("empty <worksheet/> element")
    prefix = _prefix_of(xml, "worksheet")
    return xml[: wm.end()] + f'<{prefix}sheetPr codeName="{codename}"/>' + xml[wm.end() :]


def _workbook_sheets(files: Mapping[str, bytes]) -> tuple[str, list[tuple[str, str]]]:
    """Return the workbook part name and ``[(sheet name, worksheet part)]`` in order."""
    root_rels = files["_rels/.rels"].decode("utf-8")
    wb_part = next(
        (_resolve("", r["Target"]) for r in _relationships(root_rels) if r.get("Type") == _REL_OFFICE_DOC),
        None,
    )
    if wb_part is None or wb_part not in files:
        raise ValueError("package has no workbook part")
    wb_rels = {r["Id"]: r for r in _relationships(files[_rels_path(wb_part)].decode("utf-8"))}
    sheets = []
    for m in _tag_re("sheet").finditer(files[wb_part].decode("utf-8")):
        a = _attrs(m.group(0))
        rid = next((v for k, v in a.items() if k.endswith(":id") or k == "id"), None)
        rel = wb_rels.get(rid or "")
        if rel is None or rel.get("Type") != _REL_WORKSHEET:
            continue  # chartsheets / dialog sheets are left alone
        sheets.append((a["name"], _resolve(wb_part, rel["Target"])))
    return wb_part, sheets


def workbook_sheet_names(xlsx_path: str | os.PathLike[str]) -> list[str]:
    """Names of the worksheets of an ``.xlsx``/``.xlsm`` in workbook order."""
    with zipfile.ZipFile(xlsx_path) as zf:
        files = {n: zf.read(n) for n in ("_rels/.rels",)}
        root_rels = files["_rels/.rels"].decode("utf-8")
        wb_part = next(_resolve("", r["Target"]) for r in _relationships(root_rels) if r.get("Type") == _REL_OFFICE_DOC)
        files[wb_part] = zf.read(wb_part)
        files[_rels_path(wb_part)] = zf.read(_rels_path(wb_part))
    return [name for name, _ in _workbook_sheets(files)[1]]


def make_xlsm(
    xlsx_path_in: str | os.PathLike[str],
    xlsm_path_out: str | os.PathLike[str],
    vba_bin: bytes,
    sheet_codenames: Mapping[str, str] | None = None,
    *,
    workbook_codename: str = "ThisWorkbook",
    check_modules: bool = True,
) -> None:
    """Turn an ``.xlsx`` into a macro-enabled ``.xlsm`` carrying ``vba_bin``.

    Works on the zip/XML level (no round trip through a spreadsheet library):
    adds ``xl/vbaProject.bin`` (replacing an existing project), switches the
    workbook content type to ``application/vnd.ms-excel.sheet.macroEnabled.main+xml``,
    adds an Override ``application/vnd.ms-office.vbaProject`` for the binary,
    the workbook relationship of type ``.../2006/relationships/vbaProject`` and
    ``codeName`` attributes on ``workbookPr`` and on each worksheet's ``sheetPr``.

    ``sheet_codenames`` maps worksheet name -> codename; worksheets not listed
    get ``Sheet<N>`` by position (1-based), as Excel and XlsxWriter do.  With
    ``check_modules`` every codename must be a ``Document=`` module of the
    project and vice versa (Excel expects exactly one document module per
    sheet plus the workbook's).  The result is written to a temporary file
    next to ``xlsm_path_out`` and moved into place with :func:`os.replace`;
    ``xlsx_path_in`` may equal ``xlsm_path_out``.
    """
    out_path = os.fspath(xlsm_path_out)
    if not out_path.lower().endswith((".xlsm", ".xltm")):
        raise ValueError("Excel only opens macro-enabled workbooks with an .xlsm (or .xltm) extension")
    _check_name(workbook_codename, "codename")
    with zipfile.ZipFile(xlsx_path_in) as zin:
        infos = zin.infolist()
        files = {i.filename: zin.read(i.filename) for i in infos}

    wb_part, sheets = _workbook_sheets(files)
    sheet_codenames = dict(sheet_codenames or {})
    unknown = set(sheet_codenames) - {n for n, _ in sheets}
    if unknown:
        raise ValueError(f"sheet_codenames names unknown worksheets: {sorted(unknown)}")
    codes = {name: sheet_codenames.get(name, f"Sheet{i}") for i, (name, _) in enumerate(sheets, 1)}
    for cn in codes.values():
        _check_name(cn, "codename")
    all_codes = [workbook_codename, *codes.values()]
    if len({c.lower() for c in all_codes}) != len(all_codes):
        raise ValueError(f"codenames are not unique: {all_codes}")
    if check_modules:
        docs = document_module_names(vba_bin)
        if {d.lower() for d in docs} != {c.lower() for c in all_codes}:
            raise ValueError(
                f"document modules of the VBA project {sorted(docs)} do not match the "
                f"workbook/sheet codenames {sorted(all_codes)}"
            )

    changed: dict[str, bytes] = {}

    # workbook relationships: reuse an existing vbaProject relationship's target
    rels_name = _rels_path(wb_part)
    rels = files[rels_name].decode("utf-8")
    existing = _relationships(rels)
    vba_rel = next((r for r in existing if r.get("Type") == _REL_VBA), None)
    if vba_rel is not None:
        vba_part = _resolve(wb_part, vba_rel["Target"])
    else:
        vba_part = posixpath.join(posixpath.dirname(wb_part), "vbaProject.bin")
        ids = {r.get("Id") for r in existing}
        n = 1
        while f"rId{n}" in ids:
            n += 1
        r_prefix = _prefix_of(rels, "Relationships")
        close = rels.rindex("</" + r_prefix + "Relationships>")
        target = posixpath.relpath(vba_part, posixpath.dirname(wb_part))
        rel = f'<{r_prefix}Relationship Id="rId{n}" Type="{_REL_VBA}" Target="{target}"/>'
        changed[rels_name] = (rels[:close] + rel + rels[close:]).encode("utf-8")

    # [Content_Types].xml: macro-enabled workbook type + an Override for the binary
    ct = files["[Content_Types].xml"].decode("utf-8")
    wb_partname = "/" + wb_part
    for m in _tag_re("Override").finditer(ct):
        a = _attrs(m.group(0))
        if a.get("PartName", "").lower() == wb_partname.lower():
            new_type = _CT_WORKBOOK_TEMPLATE_MACRO if "template" in a.get("ContentType", "") else _CT_WORKBOOK_MACRO
            ct = ct[: m.start()] + _set_attr(m.group(0), "ContentType", new_type) + ct[m.end() :]
            break
    else:
        raise ValueError("[Content_Types].xml has no Override for the workbook part")
    ct = _tag_re("Override").sub(
        lambda m: "" if _attrs(m.group(0)).get("PartName", "").lower() == "/" + vba_part.lower() else m.group(0),
        ct,
    )
    ct_prefix = _prefix_of(ct, "Types")
    close = ct.rindex("</" + ct_prefix + "Types>")
    ct = ct[:close] + f'<{ct_prefix}Override PartName="/{vba_part}" ContentType="{_CT_VBA}"/>' + ct[close:]
    changed["[Content_Types].xml"] = ct.encode("utf-8")

    # codeName attributes
    changed[wb_part] = _set_workbook_codename(files[wb_part].decode("utf-8"), workbook_codename).encode("utf-8")
    for name, part in sheets:
        changed[part] = _set_sheet_codename(files[part].decode("utf-8"), codes[name]).encode("utf-8")

    out_dir = os.path.dirname(os.path.abspath(out_path))
    fd, tmp = tempfile.mkstemp(prefix=".xlsm-", suffix=".tmp", dir=out_dir)
    try:
        with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zout:
            for info in infos:
                if info.filename == vba_part:
                    continue
                data = changed.get(info.filename, files[info.filename])
                zi = zipfile.ZipInfo(info.filename, date_time=info.date_time)
                zi.compress_type = zipfile.ZIP_DEFLATED
                zi.external_attr = info.external_attr
                zout.writestr(zi, data)
            zi = zipfile.ZipInfo(vba_part, date_time=infos[0].date_time if infos else (1980, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zout.writestr(zi, vba_bin)
        os.replace(tmp, out_path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def add_to_xlsxwriter(workbook: object, vba_bin: bytes, *, workbook_codename: str = "ThisWorkbook") -> None:
    """Attach ``vba_bin`` to an ``xlsxwriter.Workbook`` (whose file name ends in ``.xlsm``).

    Worksheets keep XlsxWriter's default codenames (``Sheet<N>``) unless set
    with ``worksheet.set_vba_name``; build the project with matching
    ``sheet_codenames``.
    """
    workbook.add_vba_project(io.BytesIO(vba_bin), is_stream=True)  # type: ignore[attr-defined]
    workbook.set_vba_name(workbook_codename)  # type: ignore[attr-defined]
