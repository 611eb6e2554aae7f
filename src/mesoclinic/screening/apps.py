from django.apps import AppConfig


class ScreeningConfig(AppConfig):
    name = "mesoclinic.screening"
    label = "screening"
    verbose_name = "Eligibility screening"

    def ready(self) -> None:
        from mesoclinic.patients import changes
        from mesoclinic.screening.actions import rescreen_after_change
        from mesoclinic.screening.chart import register_chart_section

        # Changing history, medications or allergies re-screens at once (patients/changes.py).
        changes.subscribe(rescreen_after_change)
        # The chart's screening section (patients/chart.py).
        register_chart_section()
