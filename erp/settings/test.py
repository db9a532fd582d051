from erp.logs import logging_config

from .base import env
from .local import *  # noqa: F401,F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ALLOWED_HOSTS = ["localhost", ".localhost", "127.0.0.1", "testserver"]
EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.locmem.EmailBackend")
# A queue of its own so a developer's running worker never steals test tasks.
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_DEFAULT_QUEUE", default="fanout-test")
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)  # noqa: F405
# A fixed key for tests only; real deployments take theirs from the environment.
FANOUT_CREDENTIALS_KEYS = "dGVzdC1vbmx5LWtleS1mYW5vdXQtdGVzdHMtMDAwMDA="
FANOUT_CHANNEL_BACKOFF_S = 0.05
FANOUT_CHANNEL_TIMEOUT_S = 5.0
FANOUT_STOCK_SYNC_DEBOUNCE_S = 0.2
FANOUT_STOCK_SYNC_RETRY_S = 1.0
# Quiet unless a test asks its subprocesses for more (DJANGO_LOG_LEVEL=INFO).
LOGGING = logging_config(level=env("DJANGO_LOG_LEVEL", default="WARNING"), fmt=env("FANOUT_LOG_FORMAT", default="json"))
LOGGING["loggers"]["werkzeug"] = {"level": "WARNING"}  # the in-process platform sandbox's request lines
CELERY_TASK_TENANT_CACHE_SECONDS = 0  # sellers are created and dropped between tests under the same schema names
FANOUT_TENANT_CACHE_S = 0  # sellers are recreated between tests under the same host names
# Sign-ups from the test client's one address would otherwise trip the throttle across tests (its test sets its own limits).
FANOUT_SIGNUP_PER_ADDRESS = FANOUT_SIGNUP_PER_IP = 10_000
