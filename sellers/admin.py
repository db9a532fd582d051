from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from sellers.models import Domain, Seller


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
