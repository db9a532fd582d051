from django.urls import path

from inventory import views

app_name = "inventory"
urlpatterns = [
    path("", views.stock_overview, name="index"),
    path("sku/<int:sku_id>/", views.sku_detail, name="sku_detail"),
    path("sku/<int:sku_id>/adjust/", views.sku_adjust, name="sku_adjust"),
    path("reorder/", views.reorder_suggestions, name="reorder"),
    path("reorder/purchase-orders/", views.reorder_create_pos, name="reorder_create_pos"),
]
