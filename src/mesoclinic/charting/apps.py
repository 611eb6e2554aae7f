from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChartingConfig(AppConfig):
    name = "mesoclinic.charting"
    label = "charting"
    verbose_name = _("Treatment sessions")
    default_auto_field = "django.db.models.BigAutoField"


    def ready(self) -> None:
        from mesoclinic.charting.chart import register_chart_section

        register_chart_section()
