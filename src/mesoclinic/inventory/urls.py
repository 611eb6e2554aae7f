from django.urls import path

from mesoclinic.inventory import views

app_name = "inventory"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("products/new/", views.product_new, name="product-new"),
    path("lots/", views.lots, name="lots"),
    path("receive/", views.receive, name="receive"),
    path("lots/<uuid:lot_id>/", views.lot_detail, name="lot"),
    path("lots/<uuid:lot_id>/correct/", views.correct, name="correct"),
    path("lots/<uuid:lot_id>/transfer/", views.transfer, name="transfer"),
    path("lots/<uuid:lot_id>/recall/", views.recall, name="recall"),
]
