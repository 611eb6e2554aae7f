from django.urls import path

from mesoclinic.scheduling import views

app_name = "scheduling"
urlpatterns = [
    path("", views.day, name="day"),
    path("week/", views.week, name="week"),
    path("today/", views.today, name="today"),
    path("book/", views.book, name="book"),
    path("resources/", views.resources, name="resources"),
    path("my-calendar/", views.my_feed, name="my-feed"),
    path("feed/<str:token>.ics", views.feed, name="feed"),
    path("appointments/<uuid:appointment_id>/", views.appointment_detail, name="appointment"),
    path("appointments/<uuid:appointment_id>/move/", views.move, name="move"),
    path("appointments/<uuid:appointment_id>/shift/", views.shift, name="shift"),
    path("appointments/<uuid:appointment_id>/cancel/", views.cancel, name="cancel"),
    path("patients/<uuid:public_id>/plans/<uuid:plan_id>/book/", views.book_series, name="series"),
]
