from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BiConfig(AppConfig):
    name = "bi"
    verbose_name = _("Insights")
