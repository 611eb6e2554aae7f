from django.apps import AppConfig


class KernelConfig(AppConfig):
    name = "mesoclinic.kernel"
    label = "kernel"
    verbose_name = "Clinic kernel"
