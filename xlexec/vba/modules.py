"""Module sources and names: the text of a VBA module as stored in a project.

[MS-OVBA] 2.3.4.2.3 (MODULENAME, the module's ``Attribute VB_Name`` line) and the document
modules' attributes (``VB_Base``, ``VB_PredeclaredId``... of ``ThisWorkbook`` / ``SheetN``):
:func:`normalize_module_source` gives the source exactly as stored (``Attribute VB_Name``
first, CRLF line endings, code page 1252); :func:`macro_names` lists the public Subs a macro
can call; :func:`document_module_names` reads the ``Document=`` lines of a built project's
PROJECT stream (2.3.1.6).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping

CODEPAGE = 1252
_ENCODING = "cp1252"


# ---------------------------------------------------------------------------
# Module sources
# ---------------------------------------------------------------------------

_IDENT_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,30}$")
_VB_NAME_RE = re.compile(r'^\s*Attribute\s+VB_Name\s*=\s*"([^"]*)"\s*$', re.IGNORECASE)
_CLASS_HEADER_RE = re.compile(r"^\s*VERSION\s+\d+\.\d+\s+CLASS\b", re.IGNORECASE)

_WORKBOOK_BASE = "0{00020819-0000-0000-C000-000000000046}"  # Excel Workbook
_WORKSHEET_BASE = "0{00020820-0000-0000-C000-000000000046}"  # Excel Worksheet
_CLASS_BASE = "0{FCFB3D2A-A0FA-1068-A738-08002B3371B5}"  # a class module, as the VBA editor stores it

_DOCUMENT_ATTRIBUTES = (
    "Attribute VB_GlobalNameSpace = False",
    "Attribute VB_Creatable = False",
    "Attribute VB_PredeclaredId = True",
    "Attribute VB_Exposed = True",
    "Attribute VB_TemplateDerived = False",
    "Attribute VB_Customizable = True",
)


def _check_name(name: str, what: str = "module") -> None:
    if not _IDENT_RE.match(name):
        raise ValueError(
            f"invalid VBA {what} name {name!r}: must start with a letter, contain only "
            "letters, digits and '_', and be at most 31 characters"
        )


def _split_lines(text: str) -> list[str]:
    text = text.lstrip("\ufeff")
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def normalize_module_source(name: str, source: str, *, document_base: str | None = None) -> str:
    """Return the source text as stored in the module stream (CRLF line endings).

    The result starts with ``Attribute VB_Name = "<name>"``; for a document
    module (``document_base`` given) the ``VB_Base``/``VB_*`` attribute block
    Excel writes for workbook and sheet modules follows.  A ``VB_Name`` line in
    ``source`` is dropped (``ValueError`` if it names another module), as are
    leading attribute lines of a document module that are regenerated here.
    """
    _check_name(name)
    lines = _split_lines(source)
    if lines and _CLASS_HEADER_RE.match(lines[0]):
        raise ValueError(f"module {name!r}: class modules (.cls with VERSION header) are not supported")
    body: list[str] = []
    header_done = False
    regenerated = {a.split("=")[0].split()[1].lower() for a in _DOCUMENT_ATTRIBUTES} | {"vb_base"}
    for line in lines:
        m = _VB_NAME_RE.match(line)
        if m and not header_done:
            if m.group(1) != name:
                raise ValueError(f"module {name!r}: source declares Attribute VB_Name = {m.group(1)!r}")
            continue
        if not header_done and document_base is not None:
            am = re.match(r"^\s*Attribute\s+(VB_\w+)\s*=", line, re.IGNORECASE)
            if am and am.group(1).lower() in regenerated:
                continue
        header_done = True
        body.append(line)
    while body and body[-1].strip() == "":
        body.pop()
    head = [f'Attribute VB_Name = "{name}"']
    if document_base is not None:
        head.append(f'Attribute VB_Base = "{document_base}"')
        head.extend(_DOCUMENT_ATTRIBUTES)
    text = "\r\n".join(head + body) + "\r\n"
    try:
        text.encode(_ENCODING)
    except UnicodeEncodeError as exc:
        raise ValueError(f"module {name!r}: character {exc.object[exc.start]!r} is not in code page 1252") from exc
    return text


#: a class module's attributes as stored, in the VBA editor's order, with its defaults (a
#: ``.cls`` export carries the first four; its own values win)
_CLASS_ATTRIBUTES = (
    ("VB_GlobalNameSpace", "False"),
    ("VB_Creatable", "False"),
    ("VB_PredeclaredId", "False"),
    ("VB_Exposed", "False"),
    ("VB_TemplateDerived", "False"),
    ("VB_Customizable", "False"),
)
_ATTRIBUTE_RE = re.compile(r"^\s*Attribute\s+(VB_\w+)\s*=\s*(.*?)\s*$", re.IGNORECASE)


def normalize_class_source(name: str, source: str) -> str:
    """The source of class module ``name`` as stored in its module stream (CRLF, cp1252).

    ``source`` is the text of an exported ``.cls`` file: its ``VERSION 1.0 CLASS`` /
    ``BEGIN`` ... ``END`` header (the export format only) is dropped; the result starts with
    ``Attribute VB_Name``, ``VB_Base`` (the class base GUID) and the class attributes of
    :data:`_CLASS_ATTRIBUTES` (the file's own values kept, e.g. ``VB_Exposed = True``),
    followed by the file's other leading attributes (``VB_Description``...) and the code.
    ``ValueError`` if the file's ``VB_Name`` names another module or a character is outside
    code page 1252."""
    _check_name(name)
    lines = _split_lines(source)
    if lines and _CLASS_HEADER_RE.match(lines[0]):
        end = next((i for i, ln in enumerate(lines) if ln.strip().upper() == "END"), None)
        if end is None:
            raise ValueError(f"class module {name!r}: VERSION header without END")
        lines = lines[end + 1 :]
    given: dict[str, str] = {}
    extra: list[str] = []
    i = 0
    while i < len(lines):
        m = _ATTRIBUTE_RE.match(lines[i])
        if not m:
            break
        key, value = m.group(1), m.group(2)
        if key.lower() == "vb_name":
            if value.strip('"') != name:
                raise ValueError(f"class module {name!r}: source declares Attribute VB_Name = {value}")
        elif key.lower() == "vb_base":
            pass
        elif key.lower() in {k.lower() for k, _v in _CLASS_ATTRIBUTES}:
            given[key.lower()] = value
        else:
            extra.append(lines[i].strip())
        i += 1
    body = lines[i:]
    while body and body[-1].strip() == "":
        body.pop()
    head = [f'Attribute VB_Name = "{name}"', f'Attribute VB_Base = "{_CLASS_BASE}"']
    head += [f"Attribute {k} = {given.get(k.lower(), v)}" for k, v in _CLASS_ATTRIBUTES]
    text = "\r\n".join(head + extra + body) + "\r\n"
    try:
        text.encode(_ENCODING)
    except UnicodeEncodeError as exc:
        raise ValueError(f"module {name!r}: character {exc.object[exc.start]!r} is not in code page 1252") from exc
    return text


_SUB_RE = re.compile(
    r"^\s*(?:(Public|Private|Friend)\s+)?(?:Static\s+)?Sub\s+([A-Za-z][A-Za-z0-9_]*)\s*\(",
    re.IGNORECASE,
)


def macro_names(modules: Mapping[str, str] | Iterable[str], *, qualified: bool = False) -> list[str]:
    """Names of the public ``Sub`` procedures (the macros a button can call).

    ``modules`` maps module name -> source (a plain iterable of sources also
    works).  ``Sub X(`` and ``Public Sub X(`` (optionally ``Static``) count;
    ``Private``/``Friend`` subs, functions, comments and subs inside
    continued lines do not.  With ``qualified=True`` names are returned as
    ``Module.Sub``.  Order follows the sources; duplicates are dropped.
    """
    items = list(modules.items()) if isinstance(modules, Mapping) else [("", src) for src in modules]
    names: list[str] = []
    seen: set[str] = set()
    for mod, src in items:
        prev_continued = False
        for line in _split_lines(src):
            continued = prev_continued
            prev_continued = line.rstrip().endswith(" _")
            if continued:
                continue
            m = _SUB_RE.match(line)
            if not m or (m.group(1) and m.group(1).lower() != "public"):
                continue
            name = f"{mod}.{m.group(2)}" if qualified and mod else m.group(2)
            if name.lower() not in seen:
                seen.add(name.lower())
                names.append(name)
    return names


def document_module_names(vba_bin: bytes) -> list[str]:
    """The ``Document=`` module names listed in a vbaProject.bin's PROJECT stream."""
    import olefile  # read-only use; olefile is a dependency of oletools

    with olefile.OleFileIO(io.BytesIO(vba_bin)) as ole:
        text = ole.openstream("PROJECT").read().decode(_ENCODING, errors="replace")
    names = []
    for line in text.splitlines():
        if line.startswith("["):
            break
        key, _, value = line.partition("=")
        if key.strip().lower() == "document":
            names.append(value.split("/", 1)[0].strip())
    return names
