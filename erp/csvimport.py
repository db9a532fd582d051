"""The one CSV import page flow: upload → preview (every bad row named) → apply (all or nothing).
The parsed text waits in the session between preview and apply."""
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from erp.csvutil import upload_text

MAX_BYTES = 5 * 1024 * 1024


def csv_import_view(request, *, session_key, parse, apply, template, context, done_url, done_message, errors=(Exception,)):
    context = dict(context)
    if request.method == "POST" and request.POST.get("apply"):
        text = request.session.get(session_key)
        if not text:
            messages.error(request, _("Upload the file again; the preview expired."))
            return redirect(request.path)
        try:
            result = apply(text=text, actor=request.user)
        except errors as exc:
            messages.error(request, str(exc))
            return redirect(request.path)
        del request.session[session_key]
        messages.success(request, done_message(result))
        return redirect(done_url)
    if request.method == "POST":
        text, error = upload_text(request, max_bytes=MAX_BYTES)
        if error:
            messages.error(request, error)
        else:
            preview = parse(text=text)
            if not preview.errors:
                request.session[session_key] = text
            context.update({"preview": preview, "sample": preview.rows[:20]})
    return render(request, template, context)
