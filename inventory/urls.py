from django.urls import path

from inventory import views, views_fx, views_purchasing

app_name = "inventory"
urlpatterns = [
    path("", views.stock_overview, name="index"),
    path("sku/<int:sku_id>/", views.sku_detail, name="sku_detail"),
    path("sku/<int:sku_id>/adjust/", views.sku_adjust, name="sku_adjust"),
    path("skus.csv", views.sku_export, name="sku_export"),
    path("import/", views.sku_import, name="sku_import"),
    path("reorder/", views.reorder_suggestions, name="reorder"),
    path("sku/<int:sku_id>/allocations/", views.sku_allocation, name="sku_allocation"),
    path("reorder/purchase-orders/", views.reorder_create_pos, name="reorder_create_pos"),
    path("exchange-rates/", views_fx.exchange_rates, name="fx"),
    path("exchange-rates.csv", views_fx.exchange_rates_export, name="fx_export"),
    path("purchase-orders/", views_purchasing.purchase_order_list, name="po_list"),
    path("purchase-orders/new/", views_purchasing.purchase_order_create_view, name="po_create"),
    path("purchase-orders/<int:po_id>/", views_purchasing.purchase_order_detail, name="po_detail"),
    path("purchase-orders/<int:po_id>/pdf/", views_purchasing.purchase_order_pdf, name="po_pdf"),
    path("purchase-orders/<int:po_id>/send/", views_purchasing.purchase_order_send_view, name="po_send"),
    path("purchase-orders/<int:po_id>/cancel/", views_purchasing.purchase_order_cancel_view, name="po_cancel"),
    path("purchase-orders/<int:po_id>/receive/", views_purchasing.purchase_order_receive_view, name="po_receive"),
]
