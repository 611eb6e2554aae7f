"""The clinic's safety desk, mounted at /safety/: dashboard, alerts, clusters, check-in calls, export."""

from django.urls import URLPattern, path

from mesoclinic.safety import export_views, views
from mesoclinic.safety.dashboard_views import dashboard

app_name = "safety"
urlpatterns: list[URLPattern] = [
    path("alerts/", views.alert_list, name="alerts"),
    path("alerts/<uuid:alert_id>/", views.alert_page, name="alert"),
    path("alerts/<uuid:alert_id>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("clusters/<uuid:cluster_id>/", views.cluster_page, name="cluster"),
    path("clusters/<uuid:cluster_id>/calls/<int:call_id>/", views.cluster_call, name="cluster-call"),
    path("clusters/<uuid:cluster_id>/close/", views.cluster_close, name="cluster-close"),
    path("check-ins/", views.checkin_list, name="checkins"),
    path("check-ins/<uuid:checkin_id>/", views.checkin_page, name="checkin"),
    path("settings/", views.settings_page, name="settings"),
]

# --- dashboard (dashboard_views.py) ---
urlpatterns += [path("", dashboard, name="dashboard")]
# --- export (export_views.py) ---
urlpatterns += [
    path("events.csv", export_views.export_csv, name="export-csv"),
    path("events.fhir.json", export_views.export_fhir, name="export-fhir"),
]
