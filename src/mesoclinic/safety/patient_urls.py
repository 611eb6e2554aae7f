"""A patient's adverse events, mounted under /patients/ (namespace adverse_events)."""

from django.urls import path

from mesoclinic.safety import views

app_name = "adverse_events"
urlpatterns = [
    path("<uuid:public_id>/adverse-events/new/", views.report, name="report"),
    path("<uuid:public_id>/adverse-events/<uuid:event_id>/", views.event_page, name="event"),
    path("<uuid:public_id>/adverse-events/<uuid:event_id>/edit/", views.edit, name="edit"),
    path("<uuid:public_id>/adverse-events/<uuid:event_id>/close/", views.close, name="close"),
    path("<uuid:public_id>/adverse-events/<uuid:event_id>/reopen/", views.reopen, name="reopen"),
    path("<uuid:public_id>/adverse-events/<uuid:event_id>/clear-hold/", views.clear_hold, name="clear-hold"),
]
