from django.urls import path

from portal import views

app_name = "portal"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("invite/<str:token>/", views.invite_accept, name="invite"),
    path("reset/", views.reset_request, name="reset"),
    path("reset/<str:uidb64>/<str:token>/", views.reset_confirm, name="reset_confirm"),
    path("orders/", views.orders, name="orders"),
    path("orders/<int:order_id>/", views.order_detail, name="order"),
    path("commissions/", views.commissions, name="commissions"),
    path("statements/", views.statements, name="statements"),
    path("statements/<int:statement_id>/", views.statement_detail, name="statement"),
    path("statements/<int:statement_id>/pdf/", views.statement_pdf, name="statement_pdf"),
    path("statements/<int:statement_id>/<str:action>/", views.statement_action, name="statement_action"),
    path("shop/", views.shop, name="shop"),
    path("shop/add/", views.cart_add, name="cart_add"),
    path("shop/cart/", views.cart, name="cart"),
    path("inbox/", views.inbox, name="inbox"),
]
