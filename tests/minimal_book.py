"""The smallest .xlsx package python-calamine and openpyxl open: one worksheet, given as XML.

For tests that need a sheet in a form no writer produces (a hostile extent, a namespace prefix,
cells without references, a sheet at an unusual member)."""

from __future__ import annotations

import zipfile
from pathlib import Path

NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


ROOT_RELS = (
    '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)


def content_types(sheet_member: str = "xl/worksheets/sheet1.xml") -> str:
    """``[Content_Types].xml`` of a package with ``xl/workbook.xml`` and one worksheet member."""
    return (
        '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        f'<Override PartName="/{sheet_member}" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
    )


def write_minimal_book(
    path: Path,
    sheet_xml: str | bytes,
    *,
    sheet: str = "S",
    target: str = "worksheets/sheet1.xml",
    compression: int = zipfile.ZIP_DEFLATED,
) -> None:
    """Write ``path``: a workbook whose one sheet ``sheet`` is ``sheet_xml``, stored at the
    relationship target ``target`` (``/x`` = member ``x``, else ``xl/`` + target), its members
    compressed with ``compression`` (a ``zipfile`` constant)."""
    member = target[1:] if target.startswith("/") else "xl/" + target
    with zipfile.ZipFile(path, "w", compression) as z:
        z.writestr("[Content_Types].xml", content_types(member))
        z.writestr("_rels/.rels", ROOT_RELS)
        z.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0"?><workbook {NS} xmlns:r="{REL}"><sheets>'
            f'<sheet name="{sheet}" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="{target}"/></Relationships>',
        )
        z.writestr(member, sheet_xml)
