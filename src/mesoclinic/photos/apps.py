from datetime import datetime

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _measure_unmeasured(now: datetime) -> int:
    from mesoclinic.photos.tasks import sweep

    return sweep(now)


class PhotosConfig(AppConfig):
    name = "mesoclinic.photos"
    label = "photos"
    verbose_name = _("Clinical photos")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from mesoclinic.messaging import periodic
        from mesoclinic.photos.chart import register_chart_section

        # A photo whose task was lost is measured by the sweep within five minutes.
        periodic.register("photos.measure", _measure_unmeasured, every_seconds=300)
        register_chart_section()
