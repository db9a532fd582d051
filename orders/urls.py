from django.urls import path

from orders import views

app_name = "orders"
urlpatterns = [
    path("", views.order_list, name="index"),
    path("exceptions/", views.exceptions, name="exceptions"),
    path("exceptions/missing/<int:failure_id>/", views.intake_failure_action, name="intake_failure"),
    path("times/", views.processing_times, name="times"),
    path("export.csv", views.order_export, name="export"),
    path("new/", views.order_create, name="create"),
    path("import/", views.order_import, name="import"),
    path("bulk/", views.bulk, name="bulk"),
    path("<int:order_id>/", views.order_detail, name="detail"),
    path("<int:order_id>/action/", views.order_action, name="action"),
]
