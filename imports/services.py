"""Big CSV imports, run by the worker; erp/csvimport.py is the page flow around them.

The contract of every import page stays: a preview that names every bad row and column, then, when
the person applies it, every row saved or none. For a big file both steps run here instead of in
the request: `csv_import_check` runs the importer's parse and draws its preview; `csv_import_apply`
runs its apply in one transaction together with the job's DONE, so an import is never half done
and never recorded as done when it was not. Apply services that take `progress` report it (the page
shows it from the cache, since the transaction hides the rows until the end). Apply is always told
who uploads (`actor`); parse is too when it declares `actor` (a preview that depends on the role,
like the SKU import refusing price changes) — in the request the signed-in person, here the job's
uploader read afresh, so a role changed since the upload counts.

Steps are claimed with a conditional UPDATE, so a task delivered twice runs once; a claim older
than the step's time limit belongs to a worker that died, and the step may be taken again."""
from __future__ import annotations

import dataclasses
import inspect
import logging
from collections.abc import Sized
from datetime import timedelta
from functools import partial

from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from imports.models import CsvImport

log = logging.getLogger("fanout.imports")
STEP_TIME_LIMIT_S = 30 * 60  # the tasks' hard time limit (imports/tasks.py)
# Importers are the services named *_csv_parse / *_csv_apply in these apps, nothing else.
IMPORTER_APPS = ("orders", "creators", "inventory", "warehouses", "connectors", "commissions")
Status = CsvImport.Status


def _importer(path: str, suffix: str):
    """The service at dotted `path`, if it is an importer of ours (a job row names it; never run anything else)."""
    if path.split(".")[0] not in IMPORTER_APPS or not path.endswith(suffix):
        raise ValueError(f"not an importer: {path}")
    return import_string(path)


def importer_path(function) -> tuple[str, dict]:
    """(dotted path, keyword arguments) of an importer service, given as itself or as a functools.partial."""
    kwargs = {}
    if isinstance(function, partial):
        kwargs, function = dict(function.keywords), function.func
    return f"{function.__module__}.{function.__qualname__}", kwargs


def progress_key(job_id: int) -> str:
    return f"fanout:csvimport:{job_id}:progress"


def csv_import_progress(*, job_id: int) -> int | None:
    """Percent of the apply done, when its service reports progress."""
    done_total = cache.get(progress_key(job_id))
    if not done_total or not done_total[1]:
        return None
    return min(100, int(100 * done_total[0] / done_total[1]))


def csv_preview(parse, *, text: str, actor, options: dict | None = None):
    """Run an importer's parse on `text` (the preview), telling it who uploads when it takes `actor`."""
    kwargs = dict(options or {})
    if "actor" in inspect.signature(parse).parameters:
        kwargs["actor"] = actor
    return parse(text=text, **kwargs)


def csv_import_start(*, page: str, parse, apply, text: str, rows: int, user, expected_errors=(), preview_template: str,
                     preview_context: dict | None = None) -> CsvImport:
    """Record the upload and queue its check. The person's older jobs on this page go (their files too)."""
    parse_path, options = importer_path(parse)
    apply_path, _options = importer_path(apply)
    CsvImport.objects.filter(page=page, created_by=user).exclude(status__in=[Status.CHECKING, Status.APPLYING]).delete()
    job = CsvImport.objects.create(
        page=page, parse=parse_path, apply=apply_path, options=options, preview_template=preview_template, preview_context=preview_context or {},
        expected_errors=[f"{e.__module__}.{e.__qualname__}" for e in expected_errors], language=translation.get_language() or "",
        text=text, rows=rows, created_by=user)
    from imports import tasks

    transaction.on_commit(partial(tasks.csv_import_check.delay, job.pk))
    return job


def csv_import_apply_queue(*, job_id: int, user) -> bool:
    """The person applies a checked file: queue the apply. False when the job is not theirs or not ready."""
    queued = CsvImport.objects.filter(pk=job_id, created_by=user, status=Status.READY).update(status=Status.APPLYING, claimed_at=None)
    if queued:
        from imports import tasks

        transaction.on_commit(partial(tasks.csv_import_apply.delay, job_id))
    return bool(queued)


def _claim(job_id: int, status: str) -> CsvImport | None:
    stale = timezone.now() - timedelta(seconds=STEP_TIME_LIMIT_S)
    taken = (CsvImport.objects.filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=stale), pk=job_id, status=status)
             .update(claimed_at=timezone.now()))
    return CsvImport.objects.select_related("created_by").get(pk=job_id) if taken else None


def csv_import_check(*, job_id: int) -> str:
    """Run the importer's parse on the file and draw its preview (every problem, or what will be imported)."""
    job = _claim(job_id, Status.CHECKING)
    if job is None:
        return "not waiting for a check"
    from erp.celery import _transient_errors

    parse = _importer(job.parse, "_csv_parse")
    try:
        with translation.override(job.language or None):
            preview = csv_preview(parse, text=job.text, actor=job.created_by, options=job.options)
            html = render_to_string(job.preview_template, {"preview": preview, "sample": preview.rows[:20], **job.preview_context})
    except _transient_errors():
        CsvImport.objects.filter(pk=job.pk).update(claimed_at=None)  # the task's retry takes it again
        raise
    except Exception:  # a file the checker cannot read ends the job, never leaves it checking for ever
        log.exception("CSV import %s could not be checked", job.pk)
        with translation.override(job.language or None):
            message = _("The import failed unexpectedly; nothing was imported. Try again, or tell your administrator.")
        CsvImport.objects.filter(pk=job.pk).update(status=Status.FAILED, error=message, text="", claimed_at=None, finished_at=timezone.now())
        return Status.FAILED
    status = Status.INVALID if preview.errors else Status.READY
    CsvImport.objects.filter(pk=job.pk).update(status=status, preview_html=html, claimed_at=None, text=job.text if status == Status.READY else "",
                                               finished_at=timezone.now() if status == Status.INVALID else None)
    return status


def csv_import_apply(*, job_id: int) -> str:
    """Apply the checked file: every row or none, and DONE in the same transaction."""
    from erp.celery import _transient_errors

    job = _claim(job_id, Status.APPLYING)
    if job is None:
        return "not waiting to be applied"
    apply = _importer(job.apply, "_csv_apply")
    kwargs = dict(job.options)
    if "progress" in inspect.signature(apply).parameters:
        kwargs["progress"] = partial(_progress_record, job.pk)
    try:
        with translation.override(job.language or None), transaction.atomic():
            result = apply(text=job.text, actor=job.created_by, **kwargs)
            CsvImport.objects.filter(pk=job.pk).update(status=Status.DONE, summary=_summary(result), text="", claimed_at=None,
                                                       finished_at=timezone.now())
    except _transient_errors():
        CsvImport.objects.filter(pk=job.pk).update(claimed_at=None)  # the task's retry takes it again
        raise
    except Exception as exc:  # any failure ends the job as failed, with nothing imported (rolled back)
        expected = any(isinstance(exc, import_string(path)) for path in job.expected_errors)
        if not expected:
            log.exception("CSV import %s failed", job.pk)
        with translation.override(job.language or None):
            message = str(exc) if expected else _("The import failed unexpectedly; nothing was imported. Try again, or tell your administrator.")
        CsvImport.objects.filter(pk=job.pk).update(status=Status.FAILED, error=message, text="", claimed_at=None, finished_at=timezone.now())
        return Status.FAILED
    finally:
        cache.delete(progress_key(job.pk))
    return Status.DONE


def _progress_record(job_id: int, done: int, total: int) -> None:
    cache.set(progress_key(job_id), (done, total), 3600)


def _summary(result) -> dict:
    """What the apply returned, as JSON: collections by their size, numbers as they are."""
    summary = {}
    for f in dataclasses.fields(result) if dataclasses.is_dataclass(result) else ():
        value = getattr(result, f.name)
        if isinstance(value, bool | int | float):
            summary[f.name] = value
        elif isinstance(value, Sized) and not isinstance(value, str):
            summary[f.name] = {"size": len(value)}
    return summary


class ImportTally:
    """An import's summary read back the way its page's done message reads the apply's result:
    `len(r.orders)`, `r.creates`. A collection comes back as a range of its size."""

    def __init__(self, summary: dict):
        for name, value in summary.items():
            setattr(self, name, range(value["size"]) if isinstance(value, dict) else value)
