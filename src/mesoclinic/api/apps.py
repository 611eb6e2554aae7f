from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "mesoclinic.api"
    label = "api"
    verbose_name = "REST API"

    def ready(self) -> None:
        # The plan operations register themselves on the one API object.
        from mesoclinic.api import inventory, plan_documents, plans, safety, scheduling, sessions  # noqa: F401
