from django.urls import path

from mesoclinic.knowledge import views

app_name = "knowledge"
urlpatterns = [
    path("", views.browse, name="browse"),
    path("files/<str:name>/", views.edit, name="edit"),
]
