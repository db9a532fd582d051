from django.urls import path

from connectors import views

app_name = "channels"
urlpatterns = [
    path("", views.index, name="index"),
    path("connect/", views.connect, name="connect"),
    path("<int:account_id>/", views.account_detail, name="account"),
    path("<int:account_id>/test/", views.account_test, name="account_test"),
    path("<int:account_id>/disconnect/", views.account_disconnect, name="account_disconnect"),
    path("<int:account_id>/reconcile/", views.account_reconcile, name="account_reconcile"),
    path("<int:account_id>/listings/", views.listings_import, name="listings_import"),
    path("sync/", views.sync_status, name="sync"),
    path("sync/retry/", views.sync_retry, name="sync_retry"),
    path("events/", views.events, name="events"),
    path("events/<int:event_id>/", views.event_detail, name="event"),
    path("events/<int:event_id>/retry/", views.event_retry, name="event_retry"),
]
