"""The one CSV import page flow: upload → preview (every bad row named) → apply (all or nothing).

A small file (up to FANOUT_IMPORT_INLINE_ROWS data rows) is checked and applied in the request; its
text waits in the session between the preview and the apply. A bigger one becomes a job the worker
checks and applies (imports/services.py) while the page shows its progress (`?job=<id>`, polled):
same preview, same errors per row and column, same all or nothing.

Each page gives its importer's `parse` and `apply` services (module-level functions, or
functools.partial of them with JSON keyword arguments, so the worker can run them; both are told
who uploads as `actor` when they take it: imports.services.csv_preview), the template of
the page and the partial that draws a preview (`preview`, `sample` and `preview_context`, which must
be JSON), and `done_message(result)`, which for a job reads the apply's result as an ImportTally."""
import csv
import io

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render, resolve_url
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from erp.csvutil import BOM, upload_text

MAX_BYTES = 5 * 1024 * 1024


def csv_data_rows(text: str) -> int:
    """Data rows in a CSV text (records after the header; a quoted line break does not count)."""
    return max(0, sum(1 for row in csv.reader(io.StringIO(text.lstrip(BOM))) if any(cell.strip() for cell in row)) - 1)


def csv_import_view(request, *, session_key, parse, apply, template, preview_template, context, done_url, done_message, errors=(Exception,),
                    preview_context=None):
    context = dict(context)
    preview_context = dict(preview_context or {})
    # A job is followed with GET …?job=<id> and applied with a POST naming it; any other POST (a file sent
    # from the job page's upload form, or the Apply of a small file's preview shown there) is not about it.
    job_id = request.POST.get("job") if request.method == "POST" else request.GET.get("job")
    if job_id:
        return _job_page(request, job_id=job_id, session_key=session_key, template=template, context=context, done_url=done_url,
                         done_message=done_message)
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
        elif (rows := csv_data_rows(text)) > settings.FANOUT_IMPORT_INLINE_ROWS:
            from imports.services import csv_import_start

            job = csv_import_start(page=session_key, parse=parse, apply=apply, text=text, rows=rows, user=request.user, expected_errors=errors,
                                   preview_template=preview_template, preview_context=preview_context)
            request.session.pop(session_key, None)
            return redirect(f"{request.path}?job={job.pk}")
        else:
            from imports.services import csv_preview

            preview = csv_preview(parse, text=text, actor=request.user)
            if not preview.errors:
                request.session[session_key] = text
            context.update({"preview_html": render_to_string(preview_template, {"preview": preview, "sample": preview.rows[:20], **preview_context},
                                                             request=request),
                            "can_apply": not preview.errors})
    return render(request, template, context)


def _job_page(request, *, job_id, session_key, template, context, done_url, done_message):
    """A big import's page: its progress, its preview once checked (with Apply), how it ended.
    Only the person who uploaded it sees it, on the page it was uploaded to."""
    from erp.ids import whole
    from imports.models import CsvImport
    from imports.services import (
        ImportTally,
        csv_import_apply_queue,
        csv_import_progress,
    )

    job = CsvImport.objects.filter(pk=whole(job_id) or 0, page=session_key, created_by=request.user).first()
    if job is None:
        raise Http404
    if request.method == "POST" and request.POST.get("apply"):
        if not csv_import_apply_queue(job_id=job.pk, user=request.user):
            messages.error(request, _("This import cannot be applied (again); upload the file to start over."))
        return redirect(f"{request.path}?job={job.pk}")
    context.update({"job": job, "percent": csv_import_progress(job_id=job.pk) if job.status == job.Status.APPLYING else None,
                    "done_text": done_message(ImportTally(job.summary)) if job.status == job.Status.DONE else "",
                    "done_href": resolve_url(done_url)})
    if request.htmx:
        return render(request, "shared/_csv_import_job.html", context)
    return render(request, template, context)
