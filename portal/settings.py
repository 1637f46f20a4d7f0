"""The one settings module. Everything that differs between machines comes from the environment.

Every variable is listed, with a one-line comment, in `.env.example`.
"""

import re
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")  # optional; real environment variables win


# ------------------------------------------------------------------------------
# Core
# ------------------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is false.")
    SECRET_KEY = "django-insecure-development-only-key"  # noqa: S105 (DEBUG only)

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else []
)
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is false.")

# Earlier keys, still accepted after SECRET_KEY is rotated: sessions and signed values,
# and outbox links sealed under them (portal/sealing.py). Comma-separated.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])

# Absolute links in emails (partnership and team invitations) are built from this.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "portal.apps.PortalAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.forms",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_tables2",
    "django_filters",
    "django_htmx",
    "django_countries",
    "formtools",
    "portal",
    "partners",
    "customers",
    "subscriptions",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "portal.middleware.PrivatePagesMiddleware",
    "portal.middleware.UserLanguageMiddleware",
    "portal.middleware.PasswordChangeRequiredMiddleware",
    "portal.middleware.SealedSessionMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last: resolve the acting tenant (an organization, or a customer in its own area)
    # and run the view inside its scope.
    "partners.middleware.OrganizationMiddleware",
    "customers.middleware.CustomerAreaMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.version",
                "partners.context_processors.organization",
            ],
        },
    },
]
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"


# ------------------------------------------------------------------------------
# Database, cache, sessions
# ------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # psycopg's pool: a connection per request costs ~2.7x on a two-query page.
    # Pools are per process; keep them small (gunicorn workers x max_size).
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Check a pooled connection before handing it out (psycopg_pool's check_connection),
    # so a database restart costs a reconnect, not a 500.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DB_POOL_MIN", default=1),
        "max_size": env.int("DB_POOL_MAX", default=4),
        "timeout": 10,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The cache holds rate-limit counters (allauth's and ours) and list counts: LocMem works
# per process; point CACHE_URL at Redis in production so limits hold across workers.
_cache_url = env.str("CACHE_URL", default="") or "locmemcache://portal"  # empty: the default
if _cache_url.split(":", 1)[0] in ("redis", "rediss", "rediscache"):
    # A Redis outage must not 500 the login: the cache fails open, logged (portal/cache.py).
    # Parsed as Django's RedisCache whatever else is installed (django-environ would pick
    # django-redis if present, with upper-case OPTIONS), then given the fail-open class.
    CACHES = {
        "default": env.cache_url_config(
            _cache_url, backend="django.core.cache.backends.redis.RedisCache"
        )
    }
    CACHES["default"]["BACKEND"] = "portal.cache.FailOpenRedisCache"
else:
    CACHES = {"default": env.cache_url_config(_cache_url)}
SESSION_ENGINE = "django.contrib.sessions.backends.db"  # a Redis outage must not log everyone out
# "Remember me" keeps a sign-in for this long; without it the cookie ends with the
# browser session (allauth sets expiry 0) and the row still expires after this age.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=14 * 24 * 60 * 60)


# ------------------------------------------------------------------------------
# Accounts (django-allauth: email as login, no usernames)
# ------------------------------------------------------------------------------
AUTH_USER_MODEL = "portal.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
# Argon2id first (portal/hashers.py); the others only read old hashes, which Django
# upgrades to Argon2id at the owner's next login.
PASSWORD_HASHERS = [
    "portal.hashers.Argon2idPasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "home"
ACCOUNT_ADAPTER = "partners.adapters.AccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = True  # keeps ?next= through sign-up
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGIN_ON_PASSWORD_RESET = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_SESSION_REMEMBER = None  # ask ("Remember me")
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Partner Portal] "
# allauth's own limits (login, failed logins, sign-up, password reset...) stay on;
# RATE_LIMITS=false switches them off, e.g. for a local load test.
ACCOUNT_RATE_LIMITS = {} if env.bool("RATE_LIMITS", default=True) else False
# "Send me a sign-in code": allauth emails a one-time code. Its login_failed limit
# ("5/300s/key") counts wrong passwords only, so anyone can lock an account by failing
# its password; the emailed code is not counted there and lets its owner in anyway
# (with TOTP still asked, when it is on). Codes have limits of their own: 3 requests a
# minute per address, 3 tries per code, 3 minutes to use it.
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
# Our own limits (portal/ratelimit.py), off whenever ACCOUNT_RATE_LIMITS is False.
PARTNERSHIP_REQUESTS_PER_HOUR = env.int("PARTNERSHIP_REQUESTS_PER_HOUR", default=20)  # per provider
ORDER_SUBMITS_PER_MINUTE = env.int("ORDER_SUBMITS_PER_MINUTE", default=10)  # per user
TOKEN_LINK_ATTEMPTS_PER_MINUTE = env.int("TOKEN_LINK_ATTEMPTS_PER_MINUTE", default=20)  # per IP

# Customers' admin accounts sign in as admin@<prefix>.<this domain> (Partner Center's
# <name>.onmicrosoft.com): a domain the portal controls, so an address under it proves
# nothing about anyone's mailbox. Set it once, before the first customer: existing
# logins do not move when it changes.
CUSTOMER_SIGN_IN_DOMAIN = env.str("CUSTOMER_SIGN_IN_DOMAIN", default="portal.example").lower()
if not re.fullmatch(r"([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}", CUSTOMER_SIGN_IN_DOMAIN):
    raise ImproperlyConfigured(
        "CUSTOMER_SIGN_IN_DOMAIN must be a domain name, e.g. portal.example."
    )

MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Partner Portal"


# ------------------------------------------------------------------------------
# Email: everything goes through the outbox (portal.emails) and Celery.
# ------------------------------------------------------------------------------
_email = env.email_url("EMAIL_URL", default="consolemail://")
_mailer_options = {}
if _email["EMAIL_BACKEND"].endswith("smtp.EmailBackend"):
    _mailer_options = {
        "host": _email.get("EMAIL_HOST") or "localhost",
        "port": _email.get("EMAIL_PORT") or 25,
        "username": _email.get("EMAIL_HOST_USER") or "",
        "password": _email.get("EMAIL_HOST_PASSWORD") or "",
        "use_tls": bool(_email.get("EMAIL_USE_TLS")),
        "use_ssl": bool(_email.get("EMAIL_USE_SSL")),
        "timeout": env.int("EMAIL_TIMEOUT", default=10),  # a hung server must not hang a worker
    }
elif _email["EMAIL_BACKEND"].endswith("filebased.EmailBackend"):
    _mailer_options = {"file_path": _email["EMAIL_FILE_PATH"]}
MAILERS = {"default": {"BACKEND": _email["EMAIL_BACKEND"], "OPTIONS": _mailer_options}}
DEFAULT_FROM_EMAIL = env.str(
    "DEFAULT_FROM_EMAIL", default="Partner Portal <noreply@portal.example>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL


# ------------------------------------------------------------------------------
# Celery
# ------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
# No broker: the embedded `make run` default. Tasks then run in-process, still after
# commit (portal.emails queues them with transaction.on_commit). Never used by tests.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL or None)
if CELERY_TASK_ALWAYS_EAGER:
    CELERY_BROKER_URL = "memory://localhost/"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="portal")
# A broker outage must not hang the request that publishes: give up fast, the
# outbox sweeper publishes the row again later.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 5}
# The result backend is Redis too; by default it retries a lost connection 20 times
# (~20 s) inside the publishing request. Results are a convenience, the outbox row is
# the record: give up quickly.
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {
    "retry_policy": {"max_retries": 2, "interval_start": 0, "interval_step": 0.2},
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    "requeue-stuck-emails": {"task": "portal.tasks.requeue_stuck_emails", "schedule": 60.0},
    # Renewals, expiries and reminders, once a day (and idempotent: a second beat, or a
    # run after downtime, changes nothing twice and catches up on missed days).
    "subscription-lifecycle": {
        "task": "subscriptions.tasks.run_lifecycle",
        "schedule": crontab(hour=1, minute=0),
    },
}
OUTBOX_REQUEUE_AFTER_SECONDS = env.int("OUTBOX_REQUEUE_AFTER_SECONDS", default=300)
# A row claimed (INFLIGHT) longer than this lost its worker (killed mid-send): the sweeper
# queues it again. Must exceed the longest a live send can take (CELERY_TASK_TIME_LIMIT).
OUTBOX_INFLIGHT_TIMEOUT_SECONDS = env.float("OUTBOX_INFLIGHT_TIMEOUT_SECONDS", default=600.0)


# ------------------------------------------------------------------------------
# Internationalization
# ------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True


# ------------------------------------------------------------------------------
# Static files (whitenoise; nothing is fetched from a CDN)
# ------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env.str(
            "STATICFILES_STORAGE",
            default="django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage",
        )
    },
}


# ------------------------------------------------------------------------------
# Security
# ------------------------------------------------------------------------------
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "form-action": [CSP.SELF, "mailto:"],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
if env.bool("BEHIND_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    ALLAUTH_TRUSTED_PROXY_COUNT = 1


# ------------------------------------------------------------------------------
# Tables, messages, logging
# ------------------------------------------------------------------------------
DJANGO_TABLES2_TEMPLATE = "tables/table.html"
DJANGO_TABLES2_TABLE_ATTRS = {"class": "table"}

MESSAGE_TAGS = {}

# Every handler redacts link tokens from paths (portal/log_redaction.py): runserver's
# request lines ("django.server"), 404/410 warnings ("django.request"), everything else.
# Django's own defaults are replaced, not added to: its "django" handlers would print
# unredacted (the console one in DEBUG) and it mails nobody (ADMINS is not set).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "portal.log_redaction.RedactSecrets"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_secrets"],
        },
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["redact_secrets"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
    },
}

# The Setup info page shows a new customer's temporary password once, within this many
# seconds of Submit; the session keeps it sealed until then, and drops it after.
SETUP_INFO_MAX_AGE_SECONDS = env.int("SETUP_INFO_MAX_AGE_SECONDS", default=600)

# Partner IDs in the program are numeric identifiers (Microsoft's PartnerID/MPN ID).
PARTNER_ID_REGEX = r"^[0-9]{6,10}$"
TEAM_INVITATION_MAX_AGE_DAYS = env.int("TEAM_INVITATION_MAX_AGE_DAYS", default=14)
PARTNERSHIP_REQUEST_MAX_AGE_DAYS = env.int("PARTNERSHIP_REQUEST_MAX_AGE_DAYS", default=30)
# First retry of a failed email after this many seconds, doubling up to 10 minutes.
OUTBOX_RETRY_BASE_SECONDS = env.float("OUTBOX_RETRY_BASE_SECONDS", default=10.0)
# Licenses can be reduced, or a subscription cancelled, only this many days after
# purchase or renewal (the program's rule).
SUBSCRIPTION_CANCELLATION_WINDOW_DAYS = env.int("SUBSCRIPTION_CANCELLATION_WINDOW_DAYS", default=7)
# An expired subscription can be renewed this many days after its term ended; then it is
# closed for good.
SUBSCRIPTION_RENEWABLE_DAYS = env.int("SUBSCRIPTION_RENEWABLE_DAYS", default=90)
# Renewal reminders go this many days before a term ends (each once).
SUBSCRIPTION_REMINDER_DAYS = env.list("SUBSCRIPTION_REMINDER_DAYS", cast=int, default=[30, 7])
# The lifecycle job handles due subscriptions in batches of this many.
SUBSCRIPTION_LIFECYCLE_BATCH = env.int("SUBSCRIPTION_LIFECYCLE_BATCH", default=500)
# List pages count exactly up to this many rows; past it the total is counted once per
# LIST_COUNT_CACHE_SECONDS (per query) and kept in the cache (portal/pagination.py).
LIST_EXACT_COUNT_LIMIT = env.int("LIST_EXACT_COUNT_LIMIT", default=5_000)
LIST_COUNT_CACHE_SECONDS = env.int("LIST_COUNT_CACHE_SECONDS", default=300)
# A filter lists its choices up to this many; past it, only the chosen one (and says how
# to choose another), so a provider with 5,000 resellers does not get 5,000 <option>s.
FILTER_CHOICES_LIMIT = env.int("FILTER_CHOICES_LIMIT", default=200)
# A request waits at most this long for a row another request has locked, then says
# "try again" (portal/locking.py; pretix uses 3 s).
LOCK_TIMEOUT = env.str("LOCK_TIMEOUT", default="3s")
