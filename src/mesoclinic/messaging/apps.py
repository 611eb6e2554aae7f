from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "mesoclinic.messaging"
    label = "messaging"
    verbose_name = _("Messages to patients")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core import checks

        from mesoclinic.messaging.checks import check_settings, check_sms_deploy

        checks.register(check_settings)
        checks.register(check_sms_deploy, checks.Tags.security, deploy=True)
