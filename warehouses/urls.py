from django.urls import path

from warehouses import views

app_name = "warehouses"
urlpatterns = [
    path("", views.warehouse_list, name="index"),
    path("<int:warehouse_id>/remove/", views.warehouse_remove, name="remove"),
]
