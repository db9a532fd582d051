from django.urls import path

from accounts import views

app_name = "team"
urlpatterns = [
    path("", views.team_index, name="index"),
    path("invite/", views.team_invite, name="invite"),
    path("business/", views.business_settings, name="business"),
    path("members/<int:user_id>/role/", views.team_role, name="role"),
    path("members/<int:user_id>/active/", views.team_active, name="active"),
    path("invitations/<int:invitation_id>/resend/", views.team_invitation_resend, name="invitation_resend"),
    path("invitations/<int:invitation_id>/revoke/", views.team_invitation_revoke, name="invitation_revoke"),
]
