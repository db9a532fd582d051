from django.urls import path

from warehouses import views, views_queue

app_name = "warehouses"
urlpatterns = [
    path("", views.warehouse_list, name="index"),
    path("<int:warehouse_id>/remove/", views.warehouse_remove, name="remove"),
    path("<int:warehouse_id>/fulfilment/", views.warehouse_fulfilment, name="fulfilment"),
    path("<int:warehouse_id>/queue/", views_queue.queue, name="queue"),
    path("<int:warehouse_id>/queue/pick-list/", views_queue.pick_list, name="pick_list"),
    path("<int:warehouse_id>/queue/packing-slips/", views_queue.packing_slips, name="packing_slips"),
    path("<int:warehouse_id>/queue/pack/", views_queue.pack, name="pack"),
    path("<int:warehouse_id>/queue/<int:shipment_id>/ship/", views_queue.ship, name="ship"),
    path("<int:warehouse_id>/queue/tracking/", views_queue.tracking_import, name="tracking_import"),
]
