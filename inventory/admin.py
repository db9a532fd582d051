from django.contrib import admin

from erp.tenancy import seller_admin_site
from inventory.models import Category, ReorderSettings, Supplier


class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "marketplace_fee_rate")
    search_fields = ("name",)

    def save_model(self, request, obj, form, change):
        """The marketplace fee is a money setting: its changes are audited with who made them."""
        from accounts.services import audit_record

        before = Category.objects.filter(pk=obj.pk).values_list("marketplace_fee_rate", flat=True).first() if change else None
        super().save_model(request, obj, form, change)
        if before != obj.marketplace_fee_rate:
            audit_record(actor=request.user, verb="category.fee_rate_changed", target=obj, data={
                "name": obj.name, "from": f"{before}" if before is not None else "—", "to": f"{obj.marketplace_fee_rate}"})


class SupplierAdmin(admin.ModelAdmin):
    list_display = ("name", "lead_time_days", "currency", "email", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name",)


class ReorderSettingsAdmin(admin.ModelAdmin):
    list_display = ("velocity_window_days", "cover_days")

    def has_add_permission(self, request):
        return not ReorderSettings.objects.exists()  # one row per seller

    def has_delete_permission(self, request, obj=None):
        return False


# Reference data the Owner edits; stock itself changes only through the inventory services.
seller_admin_site.register(Category, CategoryAdmin)
seller_admin_site.register(Supplier, SupplierAdmin)
seller_admin_site.register(ReorderSettings, ReorderSettingsAdmin)
