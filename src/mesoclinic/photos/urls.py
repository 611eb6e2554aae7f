"""A patient's photos, mounted under /patients/ (namespace photos)."""

from django.urls import path

from mesoclinic.photos import views

app_name = "photos"
urlpatterns = [
    path("photos/calibration-sticker.png", views.sticker, name="sticker"),
    path("<uuid:public_id>/photos/", views.index, name="index"),
    path("<uuid:public_id>/photos/new/", views.upload, name="upload"),
    path("<uuid:public_id>/photos/compare/", views.compare, name="compare"),
    path("<uuid:public_id>/photos/metrics/", views.metrics_plot, name="metrics"),
    path("<uuid:public_id>/photos/outcomes/", views.outcomes, name="outcomes"),
    path("<uuid:public_id>/photos/<uuid:photo_id>/", views.photo_page, name="photo"),
    path("<uuid:public_id>/photos/<uuid:photo_id>/image.jpg", views.image, name="image"),
    path("<uuid:public_id>/photos/<uuid:photo_id>/download.jpg", views.download, name="download"),
    path("<uuid:public_id>/photos/<uuid:photo_id>/aligned-to/<uuid:base_id>.jpg", views.aligned,
         name="aligned"),
    path("<uuid:public_id>/photos/<uuid:photo_id>/points/", views.points, name="points"),
    path("<uuid:public_id>/photos/<uuid:photo_id>/simulate/", views.simulate, name="simulate"),
    path("<uuid:public_id>/simulations/<uuid:simulation_id>/", views.simulation_page, name="simulation"),
    path("<uuid:public_id>/simulations/<uuid:simulation_id>/image.jpg", views.simulation_image,
         name="simulation-image"),
]
