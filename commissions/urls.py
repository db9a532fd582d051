from django.urls import path

from commissions import views

app_name = "commissions"
urlpatterns = [
    path("", views.overview, name="index"),
    path("lines/", views.lines, name="lines"),
    path("lines/export/", views.lines_export, name="lines_export"),
    path("periods/", views.periods, name="periods"),
    path("periods/close/", views.period_close, name="period_close"),
    path("periods/<int:period_id>/", views.period_detail, name="period"),
    path("statements/", views.statements, name="statements"),
    path("statements/<int:statement_id>/", views.statement_detail, name="statement"),
    path("statements/<int:statement_id>/pdf/", views.statement_pdf, name="statement_pdf"),
    path("statements/<int:statement_id>/<str:action>/", views.statement_action, name="statement_action"),
    path("disputes/", views.disputes, name="disputes"),
    path("payouts/", views.payouts, name="payouts"),
    path("payouts/<int:batch_id>/", views.payout_detail, name="payout"),
    path("payouts/<int:batch_id>/csv/", views.payout_csv, name="payout_csv"),
    path("reconciliation/", views.reconciliation, name="reconciliation"),
    path("fees/", views.fees, name="fees"),
    path("fees/<int:schedule_id>/end/", views.fee_end, name="fee_end"),
    path("fees/plans/<int:plan_id>/end/", views.margin_plan_end_view, name="margin_plan_end"),
]
