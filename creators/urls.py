from django.urls import path

from creators import views, views_reviews, views_supply

app_name = "creators"
urlpatterns = [
    path("", views.creator_list, name="index"),
    path("creators.csv", views.creator_export, name="export"),
    path("new/", views.creator_create, name="create"),
    path("import/", views.creator_import, name="import"),
    path("content-stats/import/", views.content_import, name="content_import"),
    path("to-call/", views.to_call, name="to_call"),
    path("<int:creator_id>/", views.creator_detail, name="detail"),
    path("<int:creator_id>/edit/", views.creator_edit, name="edit"),
    path("<int:creator_id>/tier/", views.creator_tier_set, name="tier_set"),
    path("<int:creator_id>/contacts/", views.creator_contact_add, name="contact_add"),
    path("<int:creator_id>/samples/", views.creator_sample_add, name="sample_add"),
    path("<int:creator_id>/portal-invite/", views.creator_portal_invite, name="portal_invite"),
    path("reviews/", views_reviews.review_list, name="reviews"),
    path("reviews/run/", views_reviews.review_run, name="review_run"),
    path("reviews/<int:review_id>/", views_reviews.review_detail, name="review"),
    path("reviews/<int:review_id>/decide/", views_reviews.review_decide, name="review_decide"),
    path("policy/", views_reviews.policy, name="policy"),
    path("supply/", views_supply.supply_overview, name="supply"),
    path("supply/sku/<int:sku_id>/", views_supply.supply_sku, name="supply_sku"),
    path("supply/sku/<int:sku_id>/drain/", views_supply.supply_drain, name="supply_drain"),
    path("supply/requests/<int:request_id>/cancel/", views_supply.supply_cancel, name="supply_cancel"),
]
