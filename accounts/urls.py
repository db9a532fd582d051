from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("login/", views.StaffLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("welcome/<str:token>/", views.welcome, name="welcome"),
    path("invite/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("account/preferences/", views.preferences, name="preferences"),
]
