from django.apps import AppConfig


class OversightConfig(AppConfig):
    name = "mesoclinic.oversight"
    label = "oversight"
    verbose_name = "Audit oversight"
