"""A big CSV import, checked and applied by the worker (imports/services.py; the page flow is
erp/csvimport.py). The uploaded text waits here between the check and the apply."""
from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class CsvImport(models.Model):
    class Status(models.TextChoices):
        CHECKING = "checking", _("Checking the file")
        INVALID = "invalid", _("The file has problems; nothing was imported")
        READY = "ready", _("Checked: apply it to import")
        APPLYING = "applying", _("Importing")
        DONE = "done", _("Imported")
        FAILED = "failed", _("Failed; nothing was imported")

    # Which import page the job belongs to (its session key); it is shown there only, to its uploader.
    page = models.CharField(max_length=80)
    # The importer: dotted paths of its parse and apply services, their keyword arguments (JSON, e.g.
    # the warehouse), the exceptions whose message is shown as it is, and how its preview is drawn.
    parse = models.CharField(max_length=200)
    apply = models.CharField(max_length=200)
    options = models.JSONField(default=dict, blank=True)
    expected_errors = models.JSONField(default=list, blank=True)
    preview_template = models.CharField(max_length=200)
    preview_context = models.JSONField(default=dict, blank=True)
    language = models.CharField(max_length=12, blank=True)
    text = models.TextField(blank=True)  # emptied once the import is done or refused
    rows = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CHECKING)
    # When a worker took the current step; a step taken longer ago than its time limit died with its worker.
    claimed_at = models.DateTimeField(null=True, blank=True)
    preview_html = models.TextField(blank=True)
    summary = models.JSONField(default=dict, blank=True)  # what the apply returned: sizes and counts
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("CSV import")
        verbose_name_plural = _("CSV imports")
        indexes = [models.Index(fields=["created_by", "page"], name="csvimport_person_page")]

    def __str__(self) -> str:
        return f"{self.page} #{self.pk} ({self.status})"

    @property
    def in_progress(self) -> bool:
        return self.status in (self.Status.CHECKING, self.Status.APPLYING)
