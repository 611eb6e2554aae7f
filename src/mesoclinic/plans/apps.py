from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlansConfig(AppConfig):
    name = "mesoclinic.plans"
    label = "plans"
    verbose_name = _("Treatment plans")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from mesoclinic.plans.chart import register_chart_section

        register_chart_section()
