from django.apps import AppConfig
from django.db.backends.signals import connection_created


class AuditConfig(AppConfig):
    name = "mesoclinic.audit"
    label = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        from mesoclinic.audit.guards import register

        # The SQLite triggers that guard audit events call a function of the connection.
        connection_created.connect(register, dispatch_uid="mesoclinic.audit.guards")
