"""CSV files people make in a spreadsheet: reading an uploaded import, writing downloads.

Reading is incremental: the upload is read in chunks (counted against the size
limit as they come), decoded as UTF-8 chunk by chunk (a leading BOM is dropped),
cut into lines and handed to the ``csv`` module line by line, the way a file
opened with ``newline=""`` would be: quoted cells may hold line breaks, and
Excel's CRLF line ends are fine. Nothing here holds the whole file.

Every refusal is a ``BadInput`` naming what is wrong (``FileTooLarge`` for the
size limit, which HTTP answers with 413).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import IO

from lms_graph.errors import BadInput
from lms_graph.spreadsheet import safe_cell

CHUNK_BYTES = 64 * 1024
MAX_CELL_LENGTH = 1_000
"""Characters in a cell: about three times the longest email address, so that every real
identifier fits while a pasted paragraph or a binary file does not."""
_LINE_END = re.compile(r"\r\n|\n|\r")
MEDIA_TYPE = "text/csv; charset=utf-8"


class FileTooLarge(BadInput):
    """The upload is over the size limit (HTTP: 413)."""


class _Lines:
    """The lines of a binary file decoded as UTF-8, each with its line end, read in
    chunks; counts the bytes against ``max_bytes`` and hashes them as they go."""

    def __init__(self, file: IO[bytes], max_bytes: int) -> None:
        self.file = file
        self.max_bytes = max_bytes
        self.size = 0
        self.digest = hashlib.sha256()
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="strict")

    def _decode(self, chunk: bytes, final: bool) -> str:
        try:
            return self._decoder.decode(chunk, final)
        except UnicodeDecodeError as error:
            position = self.size - len(chunk) + max(error.start, 0) + 1
            raise BadInput(
                f"The file is not UTF-8 text (byte {position} cannot be read): save it as "
                "'CSV UTF-8' and upload it again."
            ) from None

    def _texts(self) -> Iterator[tuple[str, bool]]:
        """The decoded text chunk by chunk, and whether it is the last."""
        while chunk := self.file.read(CHUNK_BYTES):
            self.size += len(chunk)
            if self.size > self.max_bytes:
                raise too_large(self.max_bytes)
            self.digest.update(chunk)
            yield self._decode(chunk, final=False), False
        yield self._decode(b"", final=True), True

    def __iter__(self) -> Iterator[str]:
        """Lines end at CRLF, LF or a lone CR, as in a file opened with ``newline=""``."""
        parts: list[str] = []  # the line being read, maybe over many chunks
        for text, final in self._texts():
            if not text and not final:
                continue
            if parts and parts[-1].endswith("\r") and not text.startswith("\n"):
                yield "".join(parts)  # a lone CR ended the line
                parts = []
            start = 0
            for match in _LINE_END.finditer(text):
                end = match.end()
                if end == len(text) and match.group() == "\r" and not final:
                    break  # maybe half of a CRLF: the next chunk tells
                parts.append(text[start:end])
                yield "".join(parts)
                parts = []
                start = end
            if start < len(text):
                parts.append(text[start:])
        if parts:
            yield "".join(parts)


def too_large(max_bytes: int) -> FileTooLarge:
    """The refusal of a file over ``max_bytes``."""
    size = (
        f"{max_bytes // (1024 * 1024)} MB"
        if max_bytes % (1024 * 1024) == 0
        else f"{max_bytes} bytes"
    )
    return FileTooLarge(
        f"The file is larger than the limit of {size}: split it into smaller files."
    )


def _shown(cells: Sequence[str]) -> str:
    """Cells as an error message repeats them: short, control characters as ``?``."""
    text = ",".join(cells)
    text = text if len(text) <= 80 else text[:77] + "..."
    return "".join(char if char.isprintable() else "?" for char in text)


def _check_cells(cells: Sequence[str], number: int) -> None:
    """No NUL character (a binary or UTF-16 file; PostgreSQL cannot store one) and no cell
    over ``MAX_CELL_LENGTH``: the file is refused, and the message repeats neither."""
    for cell in cells:
        if "\x00" in cell:
            raise BadInput(
                f"Row {number} holds a NUL character, which a CSV text file never has (is it "
                "a workbook or a UTF-16 file?): save it as 'CSV UTF-8' and upload it again."
            )
        if len(cell) > MAX_CELL_LENGTH:
            raise BadInput(
                f"Row {number} has a cell longer than {MAX_CELL_LENGTH} characters: is this "
                "the right file?"
            )


def read_table(
    file: IO[bytes],
    header: Sequence[str],
    *,
    max_bytes: int,
    max_rows: int,
) -> tuple[list[tuple[int, list[str]]], str]:
    """The data rows of a CSV file whose first row is exactly ``header``, as
    ``(row number, cells)`` with the header as row 1 (spreadsheet numbering; blank
    lines are skipped but keep their number), and the SHA-256 of the file's bytes.

    Refused whole (``BadInput``): not UTF-8, over ``max_bytes`` (``FileTooLarge``),
    empty, another header, more than ``max_rows`` data rows, a NUL character, a cell
    over ``MAX_CELL_LENGTH`` (or over the ``csv`` module's field limit, which stops
    reading before the cell is seen), or text the ``csv`` module cannot read.
    """
    lines = _Lines(file, max_bytes)
    reader = csv.reader(lines, strict=False)
    rows: list[tuple[int, list[str]]] = []
    seen_header = False
    number = 0
    try:
        for cells in reader:
            number += 1
            _check_cells(cells, number)
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue
            if not seen_header:
                if cells != list(header):
                    raise BadInput(
                        f"The first row must be exactly the headings '{','.join(header)}' "
                        f"(found '{_shown(cells)}'): start from the sample file."
                    )
                seen_header = True
                continue
            if len(rows) >= max_rows:
                raise BadInput(
                    f"The file has more than {max_rows} rows: split it into smaller files."
                )
            rows.append((number, cells))
    except csv.Error as error:
        if "field larger than field limit" in str(error):
            raise BadInput(
                f"Row {number + 1} has a cell longer than {csv.field_size_limit()} "
                "characters: is this the right file?"
            ) from None
        raise BadInput(f"Row {number + 1} cannot be read as CSV ({error}).") from None
    if not seen_header:
        raise BadInput(f"The file is empty: it needs the headings '{','.join(header)}' and rows.")
    if not rows:
        raise BadInput("The file has no rows below the headings: add one row per user.")
    return rows, lines.digest.hexdigest()


def write_rows(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """CSV text of ``header`` and ``rows`` in chunks of about 64 KiB, CRLF line ends (as
    Excel writes them); every cell goes through ``safe_cell`` so that no spreadsheet
    runs it as a formula."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(cell) for cell in header])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
        if buffer.tell() >= CHUNK_BYTES:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()
