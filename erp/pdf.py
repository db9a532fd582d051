"""PDF documents with WeasyPrint. Every document uses templates/pdf/base.html, whose font stack
puts Noto Sans CJK SC (Debian's fonts-noto-cjk, installed by `make` when possible) right after
the Latin font, so Chinese names print as glyphs, embedded and subset in the PDF, never as boxes."""
from django.template.loader import render_to_string

CJK_FONT_FAMILY = "Noto Sans CJK SC"


def render_pdf(template: str, context: dict, *, request=None) -> bytes:
    from weasyprint import HTML

    html = render_to_string(template, context, request=request)
    return HTML(string=html, base_url=request.build_absolute_uri("/") if request else None).write_pdf()


def cjk_font_available() -> bool:
    """Whether fontconfig knows the CJK font (the PDF test and `make` check this)."""
    import subprocess

    try:
        out = subprocess.run(["fc-list", f":family={CJK_FONT_FAMILY}", "family"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return CJK_FONT_FAMILY in out
