from django.urls import path

from mesoclinic.screening import views

app_name = "screening"
urlpatterns = [
    path("<uuid:public_id>/screenings/new/", views.new_screening, name="new"),
    path("<uuid:public_id>/screenings/<uuid:screening_id>/", views.detail, name="detail"),
    path("<uuid:public_id>/screenings/<uuid:screening_id>/accept/", views.accept_finding,
         name="accept"),
]
