"""CSV downloads: UTF-8, with an optional byte-order mark so Excel opens Chinese text correctly.
CSV uploads: UTF-8 text the importers' readers can read through, or a message naming the row."""
import csv
import io
from dataclasses import dataclass

from django.http import HttpResponse
from django.utils.translation import gettext as _

BOM = "\ufeff"


def csv_response(text: str, *, filename: str, excel: bool = False) -> HttpResponse:
    """`excel=True` prefixes the UTF-8 BOM that Excel needs to read UTF-8 (without it Excel on
    Windows guesses the legacy code page and turns 中文 into mojibake)."""
    response = HttpResponse((BOM if excel else "") + text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
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


def _column(header: list[str], index: int | None) -> str:
    if index is None:
        return "-"
    return header[index].strip() if index < len(header) and header[index].strip() else str(index + 1)
