from django.urls import path

from mesoclinic.screening import views

app_name = "screening"
urlpatterns = [
    path("<uuid:public_id>/screenings/new/", views.new_screening, name="new"),
    path("<uuid:public_id>/screenings/<uuid:screening_id>/", views.detail, name="detail"),
    path("<uuid:public_id>/screenings/<uuid:screening_id>/accept/", views.accept_finding,
         name="accept"),
    path("<uuid:public_id>/medicines/new/", views.medication_find, name="medication-find"),
    path("<uuid:public_id>/medicines/<uuid:medication_id>/code/", views.medication_code,
         name="medication-code"),
]
