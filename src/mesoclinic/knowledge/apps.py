from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    name = "mesoclinic.knowledge"
    label = "knowledge"
    verbose_name = "Clinical knowledge pack"
