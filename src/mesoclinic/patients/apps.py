from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "mesoclinic.patients"
    label = "patients"
    verbose_name = "Patients"

    def ready(self) -> None:
        from mesoclinic.patients.sections import register_record_sections

        # The chart's own sections; later stages add theirs in their ready() (patients/chart.py).
        register_record_sections()
