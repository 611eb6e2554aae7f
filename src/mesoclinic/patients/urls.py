from django.urls import path

from mesoclinic.patients import views

app_name = "patients"
urlpatterns = [
    path("", views.patient_list, name="list"),
    path("new/", views.patient_new, name="new"),
    path("other-clinics/", views.other_clinics, name="other-clinics"),
    path("<uuid:public_id>/", views.chart, name="chart"),
    path("<uuid:public_id>/edit/", views.patient_edit, name="edit"),
    path("<uuid:public_id>/history/", views.history_edit, name="history"),
    path("<uuid:public_id>/medications/new/", views.medication_add, name="medication-add"),
    path("<uuid:public_id>/medications/<uuid:medication_id>/stop/", views.medication_stop,
         name="medication-stop"),
    path("<uuid:public_id>/allergies/new/", views.allergy_add, name="allergy-add"),
    path("<uuid:public_id>/medications/<uuid:entry_id>/withdraw/", views.medication_retract,
         name="medication-retract"),
    path("<uuid:public_id>/allergies/<uuid:entry_id>/withdraw/", views.allergy_retract,
         name="allergy-retract"),
    path("<uuid:public_id>/allergies/none-known/", views.no_known_allergies,
         name="no-known-allergies"),
    path("<uuid:public_id>/labs/new/", views.lab_add, name="lab-add"),
    path("<uuid:public_id>/workup/", views.workup_edit, name="workup"),
    path("<uuid:public_id>/workup/sign-off/", views.workup_sign_off, name="workup-sign-off"),
    path("<uuid:public_id>/break-glass/", views.break_glass, name="break-glass"),
]
