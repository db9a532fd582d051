from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from accounts.models import AuditEvent, Invitation, User
from erp.tenancy import seller_admin_site


class UserAdmin(DjangoUserAdmin):
    ordering = ("email",)
    list_display = ("email", "full_name", "role", "is_active", "last_login")
    list_filter = ("role", "is_active")
    search_fields = ("email", "full_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Profile"), {"fields": ("full_name", "role", "time_zone", "language")}),
        (_("Access"), {"fields": ("is_active", "is_staff", "is_superuser")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "role", "password1", "password2")}),)
    filter_horizontal = ()


class InvitationAdmin(admin.ModelAdmin):
    list_display = ("email", "role", "invited_by", "created_at", "expires_at", "accepted_at", "revoked_at")
    list_filter = ("role",)
    search_fields = ("email",)
    readonly_fields = ("email_sent_at", "accepted_at")


class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "actor", "verb", "target_type", "target_id")
    list_filter = ("verb",)
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the record of who did what stays (the database refuses deletes too)


class SellerUserAdmin(UserAdmin):
    """In a seller's admin, roles and access change only on the Team page (its services keep
    at least one Owner and write the audit log)."""

    readonly_fields = ("role", "is_active", "is_staff", "is_superuser", "last_login", "date_joined")

    def has_add_permission(self, request):
        return False  # staff join through invitations


admin.site.register(User, UserAdmin)
seller_admin_site.register(User, SellerUserAdmin)
seller_admin_site.register(Invitation, InvitationAdmin)
seller_admin_site.register(AuditEvent, AuditEventAdmin)
