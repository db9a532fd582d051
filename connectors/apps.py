from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConnectorsConfig(AppConfig):
    name = "connectors"
    verbose_name = _("Channels")

    def ready(self):
        # Stock changes committed by the inventory services fan out to the connected channels.
        import logging

        from connectors import receivers  # noqa: F401

        # httpx logs every request at INFO; our clients log what matters themselves.
        logging.getLogger("httpx").setLevel(logging.WARNING)
