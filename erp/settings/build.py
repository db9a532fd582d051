"""Building the image (the Dockerfile's `collectstatic`): production's settings, so the static files
are collected exactly as production serves them, with stand-ins for the secrets production insists
on. The image must never hold the real ones, and collecting static files signs and decrypts nothing.
Never serve with these settings: the stand-ins are public."""
import os

for _name, _stand_in in (("DJANGO_SECRET_KEY", "image-build-only-never-serve-with-this"),
                         ("FANOUT_CREDENTIALS_KEYS", "image-build-only"), ("DJANGO_ALLOWED_HOSTS", "localhost")):
    os.environ.setdefault(_name, _stand_in)

from .production import *  # noqa: E402,F403
