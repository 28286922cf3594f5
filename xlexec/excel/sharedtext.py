"""Text as XlsxWriter's shared-string table must be given it (one rule, used by the writer
and by :mod:`xlexec.excel.operator_content` when it writes the operator's cells back)."""

from __future__ import annotations


def shared_text(s: str) -> str:
    """The shared-string entry that shows ``s``. XlsxWriter writes an entry that starts with
    ``<r>`` and ends with ``</r>`` as raw rich-text XML (so such outside text would corrupt the
    file): that text becomes one escaped rich-text run showing exactly ``s``."""
    if s.startswith("<r>") and s.endswith("</r>"):
        s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return f'<r><t xml:space="preserve">{s}</t></r>'
    return s
