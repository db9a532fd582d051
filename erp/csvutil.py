"""CSV downloads and uploads, in one place.

Downloads (every CSV export goes through `csv_response`): UTF-8, with an optional byte-order mark so
Excel opens Chinese text correctly; streamed in chunks, so an export of any size holds a few rows in
memory, not the file; and every cell passes `csv_cell`, which keeps spreadsheets from running what
a buyer, a creator or a supplier typed as a formula (CSV injection).

Uploads: UTF-8 text the importers' readers can read through, or a message naming the row; `csv_reader`
reads our own exports back as they were (it takes off the apostrophe `csv_cell` added)."""
import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from itertools import chain

from django.http import StreamingHttpResponse
from django.utils.translation import gettext as _

BOM = "\ufeff"
# A spreadsheet runs a cell as a formula (or DDE command) when it starts with one of these; full-width
# forms too, which Excel treats alike when a Chinese or Japanese input method typed them.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
CHUNK_CHARS = 64 * 1024


def csv_cell(value):
    """One cell as it goes out. Numbers (int, Decimal, float) stay numbers. Text that starts like a
    formula gets a leading apostrophe, so Excel, LibreOffice and Google Sheets show it as the text it
    is instead of running it; a plain number written as text (an amount like -5.00) is no formula
    and is left as it is. None is an empty cell."""
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal):
        return value
    text = str(value)
    if text.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def csv_cell_read(value):
    """An uploaded cell as it was before `csv_cell` neutralized it (our own exports read back)."""
    if isinstance(value, str) and value.startswith("'") and value[1:2] and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value


class _Line:
    """A file for csv.writer that hands back each line instead of storing it."""

    def write(self, line: str) -> str:
        return line


def csv_stream(*, header: Iterable, rows: Iterable[Iterable], excel: bool = False) -> Iterator[str]:
    """The CSV text of `header` and `rows`, in chunks of about CHUNK_CHARS; `rows` is read lazily."""
    writer = csv.writer(_Line())
    chunk, size = [BOM] if excel else [], 0
    for row in chain([header], rows):
        line = writer.writerow([csv_cell(value) for value in row])
        chunk.append(line)
        size += len(line)
        if size >= CHUNK_CHARS:
            yield "".join(chunk)
            chunk, size = [], 0
    if chunk:
        yield "".join(chunk)


def csv_text(*, header: Iterable, rows: Iterable[Iterable]) -> str:
    """The whole CSV as one string (small files: emails, tests)."""
    return "".join(csv_stream(header=header, rows=rows))


def csv_response(*, header: Iterable, rows: Iterable[Iterable], filename: str, excel: bool = False) -> StreamingHttpResponse:
    """The download of every CSV export, streamed. `excel=True` prefixes the UTF-8 BOM that Excel needs
    to read UTF-8 (without it Excel on Windows guesses the legacy code page and turns 中文 into mojibake).
    `rows` may be a generator that reads the database as the file goes out (the request's schema stays
    set until the response is closed)."""
    response = StreamingHttpResponse(csv_stream(header=header, rows=rows, excel=excel), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def wants_excel(request) -> bool:
    return request.GET.get("excel") in ("1", "true", "yes")


@dataclass(frozen=True)
class RowError:
    """One problem in an imported file, as a spreadsheet shows it: row 1 is the header."""

    row: int
    column: str
    reason: str

    def __str__(self) -> str:
        return _("row %(row)s, %(column)s: %(reason)s") % {"row": self.row, "column": self.column, "reason": self.reason}


def upload_text(request, *, max_bytes: int) -> tuple[str | None, str | None]:
    """The uploaded `file` as text (UTF-8, with or without a BOM), or a message saying why not."""
    upload = request.FILES.get("file")
    if upload is None:
        return None, _("Choose a CSV file.")
    if upload.size > max_bytes:
        return None, _("The file is larger than %(mb)s MB; split it.") % {"mb": max_bytes // (1024 * 1024)}
    try:
        text = upload.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        return None, _("The file is not UTF-8 text. Save it as “CSV UTF-8” and try again.")
    text = csv_newlines(text)
    problem = csv_unreadable(text)
    return (None, problem) if problem else (text, None)


def csv_newlines(text: str) -> str:
    """Line breaks as the importers' readers expect them: files from old Mac Excel end lines
    with a bare CR, which `csv` refuses outside quotes."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def csv_unreadable(text: str) -> str | None:
    """Why `text` cannot be read as CSV rows (a value past the `csv` field limit, a NUL
    character the database cannot store), naming the row and column; None when it can."""
    reader = csv.reader(io.StringIO(text.lstrip(BOM)))
    header: list[str] = []
    try:
        for row in reader:
            header = header or row
            for index, value in enumerate(row):
                if "\x00" in value:
                    return str(RowError(reader.line_num, _column(header, index), _("contains a NUL character; is this really a CSV text file?")))
    except csv.Error:
        row = max(reader.line_num, 1)
        lines = text.lstrip(BOM).split("\n")
        line = lines[row - 1] if row - 1 < len(lines) else ""
        index = next((i for i, value in enumerate(line.split(",")) if len(value) > csv.field_size_limit()), None)
        return str(RowError(row, _column(header, index), _("a value is longer than %(n)s characters") % {"n": csv.field_size_limit()}))
    return None


class csv_reader(csv.DictReader):  # named like a function: it is used as csv.DictReader is
    """csv.DictReader over uploaded text (a BOM dropped) that reads our own exports back as they were:
    the apostrophe `csv_cell` put before a formula-like text is taken off."""

    def __init__(self, text: str):
        super().__init__(io.StringIO(text.lstrip(BOM)))

    def __next__(self) -> dict:
        return {key: csv_cell_read(value) for key, value in super().__next__().items()}


def _column(header: list[str], index: int | None) -> str:
    if index is None:
        return "-"
    return header[index].strip() if index < len(header) and header[index].strip() else str(index + 1)
