"""Cells for files a person opens in a spreadsheet (the .xlsx exports, the CSV downloads).

A spreadsheet runs a cell whose text starts with ``=``, ``+``, ``-`` or ``@`` as a
formula (and some treat a leading tab or carriage return the same way), so text
that users typed, such as a name like ``=HYPERLINK(...)``, must never reach a
cell as is: ``safe_cell`` prefixes such text with a single quote, which shows
the text instead of running it.
"""

from __future__ import annotations

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """The text of a cell that no spreadsheet runs as a formula (``None`` is empty)."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text
