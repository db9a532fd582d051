from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from sellers.models import Domain, JobRun, Seller


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


@admin.register(Seller)
class SellerAdmin(admin.ModelAdmin):
    list_display = ("name", "subdomain", "schema_name", "owner_email", "is_active", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name", "subdomain", "owner_email")
    readonly_fields = ("schema_name", "created_at")
    inlines = [DomainInline]
    fieldsets = ((None, {"fields": ("name", "subdomain", "schema_name", "owner_email", "is_active", "created_at")}),)

    def get_readonly_fields(self, request, obj=None):
        # The subdomain names the schema; changing it after creation would orphan it.
        return self.readonly_fields + (("subdomain",) if obj else ())

    def has_delete_permission(self, request, obj=None):
        # The public tenant is the platform itself; deleting a seller drops its whole schema.
        return obj is None or obj.schema_name != "public"

    def has_add_permission(self, request):
        return False  # sellers are created through sign-up, which builds the schema and owner

    @admin.display(description=_("Domains"))
    def domains(self, obj):
        return ", ".join(d.domain for d in obj.domains.all())


@admin.register(JobRun)
class JobRunAdmin(admin.ModelAdmin):
    """Scheduled jobs: every job of every seller, red where one is late or ran in the public schema. The
    page reads sellers.jobs (the same rules as /health/), not the raw rows."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        from django.template.response import TemplateResponse

        from sellers.jobs import jobs_status, scheduled_jobs

        rows = jobs_status()
        state = request.GET.get("state", "")
        labels = {"public": _("Ran in the public schema"), "late": _("Late"), "failing": _("Last run failed"),
                  "waiting": _("Sent, not run yet"), "ok": _("OK"), "public_before": _("Ran in the public schema earlier")}
        counts = {key: sum(1 for r in rows if r["state"] == key) for key in labels}
        for row in rows:
            row["state_label"] = labels[row["state"]]
            row["period_text"] = _period_text(row["period_s"])
        context = {
            **self.admin_site.each_context(request), "opts": self.model._meta, "title": _("Scheduled jobs"),
            "rows": [r for r in rows if not state or r["state"] == state][:2000], "state": state,
            "states": [(key, label, counts[key]) for key, label in labels.items()],
            "red": [r for r in rows if r["state"] in ("public", "late")][:20],
            "red_count": counts["public"] + counts["late"], "jobs": len(scheduled_jobs()),
        }
        return TemplateResponse(request, "admin/sellers/jobrun/status.html", context)


def _period_text(seconds: float) -> str:
    if seconds == float("inf"):
        return "—"
    if seconds < 3600:
        return _("every %(n)s min") % {"n": f"{seconds / 60:g}"}
    if seconds < 86400:
        return _("every %(n)s h") % {"n": f"{seconds / 3600:g}"}
    return _("every %(n)s days") % {"n": f"{seconds / 86400:g}"}
