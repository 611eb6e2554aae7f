from django.urls import path

from mesoclinic.staff import preferences, views

app_name = "staff"
urlpatterns = [
    path("", views.staff_list, name="list"),
    path("preferences/", preferences.preferences, name="preferences"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<uuid:token_id>/revoke/", views.revoke_token, name="revoke-token"),
]
