"""CSV downloads: UTF-8, with an optional byte-order mark so Excel opens Chinese text correctly."""
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
        return upload.read().decode("utf-8-sig"), None
    except UnicodeDecodeError:
        return None, _("The file is not UTF-8 text. Save it as “CSV UTF-8” and try again.")
