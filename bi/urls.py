from django.urls import path

from bi import views

app_name = "bi"
urlpatterns = [
    path("", views.cockpit, name="index"),
    path("creators/", views.creators, name="creators"),
    path("operations/", views.operations, name="operations"),
    path("stock/", views.stock, name="stock"),
    path("warehouses/", views.warehouses, name="warehouses"),
    path("team/", views.team, name="team"),
]
