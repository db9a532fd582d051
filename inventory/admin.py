from django.contrib import admin

from erp.tenancy import seller_admin_site
from inventory.models import Category, ReorderSettings, Supplier


class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "marketplace_fee_rate")
    search_fields = ("name",)


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
