from .base import *  # noqa: F401,F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# The local platform sandbox of `make run` may be called (erp/outbound.py); tests run it too.
FANOUT_OUTBOUND_ALLOW_SANDBOX = env.bool("FANOUT_OUTBOUND_ALLOW_SANDBOX", default=True)
# Serve static files straight from the app folders, no collectstatic needed in development.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
