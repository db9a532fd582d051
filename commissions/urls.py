from django.urls import path

from commissions import views

app_name = "commissions"
urlpatterns = [
    path("", views.fees, name="index"),
    path("fees/<int:schedule_id>/end/", views.fee_end, name="fee_end"),
]
