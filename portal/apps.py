from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Creator portal"

    def ready(self):
        from portal import notifications  # noqa: F401  (connects the signal receivers)
