from django.urls import path

from mesoclinic.staff import preferences, views

app_name = "staff"
urlpatterns = [
    path("", views.staff_list, name="list"),
    path("preferences/", preferences.preferences, name="preferences"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<uuid:token_id>/revoke/", views.revoke_token, name="revoke-token"),
    path("new/", views.staff_new, name="new"),
    path("<uuid:user_id>/", views.staff_detail, name="detail"),
    path("<uuid:user_id>/roles/", views.staff_roles, name="roles"),
    path("<uuid:user_id>/credentials/", views.credential_add, name="credential-add"),
    path("<uuid:user_id>/deactivate/", views.staff_deactivate, name="deactivate"),
    path("<uuid:user_id>/reactivate/", views.staff_reactivate, name="reactivate"),
]
