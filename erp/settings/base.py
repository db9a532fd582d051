"""Settings shared by every environment. Values come from the environment (django-environ).

`make run` / `make test` write the URLs of the services they provide to `.var/services.env`;
it is read here so that `manage.py` works in the same checkout without exporting anything.
Variables already set in the environment always win.
"""
import os
from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

from erp.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
_services_env = BASE_DIR / ".var" / "services.env"
if _services_env.exists():
    environ.Env.read_env(str(_services_env), overwrite=False)

SECRET_KEY = env("DJANGO_SECRET_KEY", default="dev-only-insecure-key-change-me")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", ".localhost", "127.0.0.1"])

# Tenancy -----------------------------------------------------------------------------------
# Sellers are tenants; each gets a PostgreSQL schema and the site <subdomain>.<BASE_DOMAIN>.
FANOUT_BASE_DOMAIN = env("FANOUT_BASE_DOMAIN", default="localhost")
TENANT_MODEL = "sellers.Seller"
TENANT_DOMAIN_MODEL = "sellers.Domain"
PUBLIC_SCHEMA_NAME = "public"
PUBLIC_SCHEMA_URLCONF = "erp.urls_public"
ROOT_URLCONF = "erp.urls_tenants"
SHOW_PUBLIC_IF_NO_TENANT_FOUND = False
# One SET search_path per request instead of one per query.
TENANT_LIMIT_SET_CALLS = True
# migrate_schemas skips seller schemas that have every migration already (sellers.schemas).
GET_EXECUTOR_FUNCTION = "sellers.schemas.migrate_executor"

SHARED_APPS = [
    "django_tenants",
    "sellers",
    # Platform admins live in the public schema; each seller has its own copies of these.
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "accounts",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "django_celery_beat",
    "django_htmx",
    "djmoney",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.admin",
    "axes",
    "accounts",
    "creators",
    "inventory",
    "warehouses",
    "connectors",
    "orders",
    "commissions",
    "bi",
    "portal",
    "imports",
    # Per-seller periodic tasks live in each schema (TenantAwareDatabaseScheduler reads them all).
    "django_celery_beat",
]
INSTALLED_APPS = list(SHARED_APPS) + [a for a in TENANT_APPS if a not in SHARED_APPS]

DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
DATABASES = {"default": env.db_url("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/fanout")}
DATABASES["default"]["ENGINE"] = "django_tenants.postgresql_backend"
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        # django-tenants prefixes every cache key with the schema name.
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
    }
}

MIDDLEWARE = [
    # Security headers (CSP, nosniff, referrer policy, HSTS, X-Frame-Options) on every answer, also
    # those given below before any view runs: /health/, an unknown host, a suspended seller.
    "erp.headers.SecurityHeadersMiddleware",
    "erp.logs.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "erp.health.HealthMiddleware",  # /health/ answers before the seller lookup touches the database
    "erp.middleware.CachedTenantMiddleware",
    "erp.middleware.SellerActiveMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "erp.middleware.LoginRequiredMiddleware",
    "accounts.middleware.UserPreferencesMiddleware",
    "accounts.middleware.ModulePermissionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.navigation",
            ],
        },
    }
]

WSGI_APPLICATION = "erp.wsgi.application"

# Auth ----------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "accounts.signin.SigninGuardBackend",  # refuses sprayed-from addresses and locked accounts first
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
STAFF_INVITATION_DAYS = env.int("FANOUT_STAFF_INVITATION_DAYS", default=7)
PORTAL_INVITE_DAYS = env.int("FANOUT_PORTAL_INVITE_DAYS", default=14)

# Sign-in guards (accounts.signin): wrong passwords lock the account itself, from wherever they
# come, for the cool-off; one client address failing across accounts (spraying) is refused too.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "accounts.signin.signin_username"
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # refused tries neither count nor extend the lock
AXES_LOCKOUT_CALLABLE = "accounts.signin.signin_locked_response"
AXES_CLIENT_IP_CALLABLE = "erp.throttle.client_ip"
AXES_VERBOSE = False
FANOUT_SIGNIN_FAILURES_PER_IP = env.int("FANOUT_SIGNIN_FAILURES_PER_IP", default=20)
# axes.W006 wants the client address in the lock key: here the account is locked whatever the
# address, and addresses have their own, higher limit across accounts (accounts.signin).
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
# Password-reset emails (staff and portal) an hour, per address and per client address.
FANOUT_RESET_LIMIT_PER_ADDRESS = env.int("FANOUT_RESET_LIMIT_PER_ADDRESS", default=3)
FANOUT_RESET_LIMIT_PER_IP = env.int("FANOUT_RESET_LIMIT_PER_IP", default=10)
# Addresses or networks of our own reverse proxies: only a request from one of them has its
# X-Forwarded-For believed (erp.throttle.client_ip). None by default: behind a proxy, set it.
FANOUT_TRUSTED_PROXIES = env.list("FANOUT_TRUSTED_PROXIES", default=[])

# Sessions are stored in each seller's own schema and the cookie is host-only, so a login on
# one seller's site is never valid on another's.
SESSION_COOKIE_DOMAIN = None
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# I18N / time -------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"
FANOUT_DEFAULT_USER_TIME_ZONE = "America/Los_Angeles"
# A new seller's business time zone (days, reports, settlement periods) unless sign-up says otherwise.
FANOUT_DEFAULT_BUSINESS_TIME_ZONE = "America/Los_Angeles"

# Static --------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Channels ------------------------------------------------------------------------------------
# Fernet keys (comma-separated, newest first) that encrypt shop credentials at rest.
FANOUT_CREDENTIALS_KEYS = env("FANOUT_CREDENTIALS_KEYS", default="")
# The local platform sandbox (connectors/sandbox), when one runs: shops can be connected to it.
FANOUT_PLATFORM_SANDBOX_URL = env("FANOUT_PLATFORM_SANDBOX_URL", default="")
# Development only: let outbound requests (erp/outbound.py) reach that sandbox's exact origin,
# although it is a loopback address over http. Production settings force it off.
FANOUT_OUTBOUND_ALLOW_SANDBOX = env.bool("FANOUT_OUTBOUND_ALLOW_SANDBOX", default=False)
FANOUT_CHANNEL_TIMEOUT_S = env.float("FANOUT_CHANNEL_TIMEOUT_S", default=15.0)
FANOUT_CHANNEL_MAX_ATTEMPTS = env.int("FANOUT_CHANNEL_MAX_ATTEMPTS", default=4)
FANOUT_CHANNEL_BACKOFF_S = env.float("FANOUT_CHANNEL_BACKOFF_S", default=0.5)
FANOUT_CHANNEL_MAX_BACKOFF_S = env.float("FANOUT_CHANNEL_MAX_BACKOFF_S", default=30.0)
# Stock changes within this window are pushed together; a failed push is retried after RETRY.
FANOUT_STOCK_SYNC_DEBOUNCE_S = env.float("FANOUT_STOCK_SYNC_DEBOUNCE_S", default=1.0)
FANOUT_STOCK_SYNC_RETRY_S = env.float("FANOUT_STOCK_SYNC_RETRY_S", default=10.0)
# Webhooks (connectors.services.webhook_guard): refused deliveries a client address may send a
# minute before further refusals are answered 429 and no longer logged one by one; deliveries one
# shop may send a minute (far above any real burst); how far a delivery's signed time may be from
# now (TikTok retries for 72 hours, Shopify for 4: each window must stay longer).
FANOUT_WEBHOOK_REFUSALS_PER_MINUTE = env.int("FANOUT_WEBHOOK_REFUSALS_PER_MINUTE", default=30)
FANOUT_WEBHOOK_SHOP_PER_MINUTE = env.int("FANOUT_WEBHOOK_SHOP_PER_MINUTE", default=30_000)
FANOUT_WEBHOOK_TIKTOK_MAX_AGE_S = env.int("FANOUT_WEBHOOK_TIKTOK_MAX_AGE_S", default=96 * 3600)
FANOUT_WEBHOOK_SHOPIFY_MAX_AGE_S = env.int("FANOUT_WEBHOOK_SHOPIFY_MAX_AGE_S", default=12 * 3600)

# Email ---------------------------------------------------------------------------------------
EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = env("DJANGO_EMAIL_FILE_PATH", default=str(BASE_DIR / ".var" / "mail"))
DEFAULT_FROM_EMAIL = env("DJANGO_DEFAULT_FROM_EMAIL", default="Fanout <no-reply@fanout.local>")

# `make run` turns this on: the demo's sandbox TikTok shop receives an order every few minutes.
FANOUT_DEMO_TRAFFIC = env.bool("FANOUT_DEMO_TRAFFIC", default=False)

# Sign-up (sellers.services.signup_requests): at most this many sign-ups per email address and per
# client IP within the window; unconfirmed sign-ups expire (and failed ones are deleted) after the hours;
# a confirmed one still waiting for its seller after STUCK_S is queued again.
FANOUT_SIGNUP_PER_ADDRESS = env.int("FANOUT_SIGNUP_PER_ADDRESS", default=3)
FANOUT_SIGNUP_PER_IP = env.int("FANOUT_SIGNUP_PER_IP", default=10)
FANOUT_SIGNUP_WINDOW_S = env.int("FANOUT_SIGNUP_WINDOW_S", default=3600)
FANOUT_SIGNUP_VERIFY_HOURS = env.int("FANOUT_SIGNUP_VERIFY_HOURS", default=24)
FANOUT_SIGNUP_STUCK_S = env.int("FANOUT_SIGNUP_STUCK_S", default=600)

# Seconds a web process remembers which seller a host name belongs to (erp.middleware).
FANOUT_TENANT_CACHE_S = env.float("FANOUT_TENANT_CACHE_S", default=5.0)

# Seconds between a Celery worker's heartbeats (erp.health); /health/ wants one within 3 of them.
FANOUT_WORKER_HEARTBEAT_S = env.float("FANOUT_WORKER_HEARTBEAT_S", default=10.0)

# Seconds after which pending inbox events, orders not yet routed and shipments not yet pushed
# count as stuck (their task lost with a killed worker) and are queued again (orders.work_resume).
FANOUT_RESUME_AFTER_S = env.int("FANOUT_RESUME_AFTER_S", default=120)
# ... unless more tasks than this wait in the queue: then the workers are behind, not the work lost.
FANOUT_RESUME_MAX_QUEUED = env.int("FANOUT_RESUME_MAX_QUEUED", default=200)

# A CSV import of more data rows than this is checked and applied by the worker, with a progress
# page, instead of inside the request (erp/csvimport.py).
FANOUT_IMPORT_INLINE_ROWS = env.int("FANOUT_IMPORT_INLINE_ROWS", default=500)

# Celery --------------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# Each process keeps a few messages at hand (-O fair still hands a task only to an idle process),
# so a burst of short tasks does not wait for Redis between every two of them.
CELERY_WORKER_PREFETCH_MULTIPLIER = 4
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_DEFAULT_QUEUE", default="fanout")
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
# Every job once per seller, in the seller's schema (erp.beat); the schedule itself is in erp.celery.
CELERY_BEAT_SCHEDULER = "erp.beat:SellerScheduler"
# No result backend, so no results to clean up (else beat adds celery.backend_cleanup, a public-schema job).
CELERY_RESULT_EXPIRES = None
# Seconds between beat's re-reads of the schedule (django-celery-beat's 5 minutes); tests shorten it.
FANOUT_BEAT_RELOAD_S = env.float("FANOUT_BEAT_RELOAD_S", default=300.0)
# Soak tests and bench/soak.py only: every scheduled job every this many seconds instead of its crontab.
FANOUT_BEAT_EVERY_S = env.float("FANOUT_BEAT_EVERY_S", default=0.0)
CELERY_TIMEZONE = "UTC"
# A task looks its seller up again after this many seconds (tenant-schemas-celery caches it per process).
CELERY_TASK_TENANT_CACHE_SECONDS = env.int("CELERY_TASK_TENANT_CACHE_SECONDS", default=10)

# Structured logs (erp.logs): one JSON object per line with the seller and the request or task id.
# FANOUT_LOG_FORMAT=text for a readable line with the same fields.
LOGGING = logging_config(level=env("DJANGO_LOG_LEVEL", default="INFO"), fmt=env("FANOUT_LOG_FORMAT", default="json"))

# Where people reach the platform; seller sites are <subdomain>.<host of this URL>.
FANOUT_SITE_URL = env("FANOUT_SITE_URL", default="http://localhost:8000")

# Money: one currency per seller for now; amounts carry it explicitly (django-money).
CURRENCIES = ("USD", "CNY", "EUR", "GBP", "CAD")
DEFAULT_CURRENCY = "USD"
# Reservations: at most this many run against the database at once per process, so that a
# burst of clients queues here instead of piling up on a hot SKU's row lock. Measured on 2 cores
# (bench/reserve_hot_sku.py): 2× the cores keeps throughput flat from 8 to 64 clients.
FANOUT_RESERVATION_CONCURRENCY = env.int("FANOUT_RESERVATION_CONCURRENCY", default=2 * (os.cpu_count() or 2))
