from django.apps import AppConfig


class StaffConfig(AppConfig):
    name = "mesoclinic.staff"
    label = "staff"
    verbose_name = "Staff management"
