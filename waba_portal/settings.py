"""Settings for WABA Portal, read from the environment (12-factor).

Every value has a safe default for a local run: a SQLite file and a file-system
Celery broker under ``var/``, so that nothing but Python is needed. Production sets
``DATABASE_URL``, ``REDIS_URL`` (or ``CELERY_BROKER_URL``), ``SECRET_KEY`` and
``ALLOWED_HOSTS``; with ``DEBUG`` off the deployment checks pass without warnings.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("WABA_VAR_DIR", BASE_DIR / "var"))


def env(name: str, default: str = "") -> str:
    """The variable's value; unset and empty both mean the default."""
    return os.environ.get(name) or default


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if not value:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)


def _secret_key() -> str:
    key = env("SECRET_KEY")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off. Set SECRET_KEY in the environment "
            "(production), or DEBUG=1 for a local run."
        )
    # Local runs: generate one key and keep it, so sessions survive restarts.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(64))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
# Keys for secrets kept in the database (Meta tokens, PINs). Comma-separated Fernet
# keys, newest first; when unset a key is derived from SECRET_KEY.
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_htmx",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "waba_portal",
    "waba_portal.webhooks",
    "accounts",
    "senders",
    "templates_app",
    "inbox",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before WhiteNoise, so that static files carry the policies too.
    "csp.middleware.CSPMiddleware",
    "waba_portal.security_headers.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "waba_portal.guards.UnstorableTextMiddleware",  # before anything reads the session
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified(): the session gave a code
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.middleware.UserLanguageMiddleware",
    "accounts.middleware.UserTimeZoneMiddleware",
    "accounts.middleware.TenantMiddleware",
    "accounts.middleware.TwoFactorRequiredMiddleware",  # after TenantMiddleware and OTP's
    "waba_portal.middleware.ServiceErrorMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a locked sign-in into its page
]

ROOT_URLCONF = "waba_portal.urls"
WSGI_APPLICATION = "waba_portal.wsgi.application"
ASGI_APPLICATION = "waba_portal.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "waba_portal" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "accounts.context_processors.tenancy",
            ],
        },
    },
    # The inbox's list, thread and side panel: ``waba_portal/jinja.py`` says why and
    # how they agree with the Django ones.
    {
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "environment": "waba_portal.jinja.environment",
            # What the inbox's fragments an htmx request asks for show (its tenant), and
            # the form's CSRF field worked out once per page.
            "context_processors": [
                "accounts.context_processors.tenancy",
                "waba_portal.jinja.csrf_field",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=int(env("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=env_bool("DB_CONN_HEALTH_CHECKS", True),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share the file: wait for locks instead of failing, and
    # take the write lock at the start of a transaction so upgrades cannot deadlock.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif "connect_timeout" not in DATABASES["default"].setdefault("OPTIONS", {}):
    # A PostgreSQL that stops answering fails a connection after this many seconds
    # (a ?connect_timeout= in DATABASE_URL wins).
    DATABASES["default"]["OPTIONS"]["connect_timeout"] = int(env("DB_CONNECT_TIMEOUT", "5"))
if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3" and not env_bool("DB_JIT", False):
    # The pages' queries are short: compiling one to machine code (PostgreSQL's JIT,
    # for plans it costs high) took longer than running it, 100 ms on a search over a
    # million messages. DB_JIT=1 leaves it to the server's setting.
    DATABASES["default"]["OPTIONS"].setdefault("options", "-c jit=off")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:home"
LOGOUT_REDIRECT_URL = "accounts:login"
# django-axes' backend first: a locked sign-in is refused before its password is checked.
AUTHENTICATION_BACKENDS = [
    "accounts.lockout.SignInBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# --- Sign-in protection (accounts/lockout.py, accounts/services/throttling.py) ------------
# Counted in the cache; a lock tells nothing about whether an account has the address.
AXES_HANDLER = "accounts.lockout.SignInFailureHandler"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each one locks on its own
AXES_FAILURE_LIMIT = int(env("AXES_FAILURE_LIMIT", "5"))  # wrong passwords per account
SIGN_IN_IP_FAILURE_LIMIT = int(env("SIGN_IN_IP_FAILURE_LIMIT", "30"))  # per client address
AXES_COOLOFF_TIME = timedelta(minutes=int(env("AXES_COOLOFF_MINUTES", "15")))
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # the page's retry time holds
AXES_USERNAME_CALLABLE = "accounts.lockout.sign_in_username"
AXES_CLIENT_IP_CALLABLE = "accounts.lockout.client_ip"
AXES_LOCKOUT_CALLABLE = "accounts.views.sign_in_locked_out"
AXES_VERBOSE = False  # accounts.lockout logs the locks itself, without addresses
# Reverse proxies in front of the web process (X-Forwarded-For entries to trust); 0 reads
# the connection's address. Every per-address limit below reads the same address.
TRUSTED_PROXY_COUNT = int(env("TRUSTED_PROXY_COUNT", "0"))
# Per hour. A reset request past its limit sends nothing and answers "sent" as usual.
PASSWORD_RESET_LIMIT_PER_ADDRESS = int(env("PASSWORD_RESET_LIMIT_PER_ADDRESS", "3"))
PASSWORD_RESET_LIMIT_PER_IP = int(env("PASSWORD_RESET_LIMIT_PER_IP", "10"))
SIGNUP_LIMIT_PER_IP = int(env("SIGNUP_LIMIT_PER_IP", "5"))
# Wrong two-factor codes (and passwords typed to turn it off) per user per window.
TWO_FACTOR_FAILURE_LIMIT = int(env("TWO_FACTOR_FAILURE_LIMIT", "5"))
TWO_FACTOR_FAILURE_WINDOW_SECONDS = int(env("TWO_FACTOR_FAILURE_WINDOW_SECONDS", "900"))
# How long a right password waits for its code before the sign-in starts over.
TWO_FACTOR_SIGN_IN_TIMEOUT_SECONDS = int(env("TWO_FACTOR_SIGN_IN_TIMEOUT_SECONDS", "300"))
OTP_TOTP_ISSUER = "WABA Portal"
# django-otp's own per-device back-off is off: TWO_FACTOR_FAILURE_LIMIT decides, and its
# message says when to try again.
OTP_TOTP_THROTTLE_FACTOR = 0
OTP_STATIC_THROTTLE_FACTOR = 0
# The admin never shows a TOTP secret or its QR code (and answers 403 before it looks up
# a device, instead of a 500 for a missing one).
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# --- Cache, Celery ----------------------------------------------------------------
REDIS_URL = env("REDIS_URL")

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", "waba"),
            # A Redis that stops answering must not hold a request (the webhook intake's
            # kick, a throttle count) for longer than this.
            "OPTIONS": {
                "socket_connect_timeout": float(env("REDIS_CONNECT_TIMEOUT", "2")),
                "socket_timeout": float(env("REDIS_SOCKET_TIMEOUT", "2")),
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

CELERY_BROKER_URL = env("CELERY_BROKER_URL", REDIS_URL or "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # A broker that needs no server: messages are files under var/celery/.
    _broker_dir = VAR_DIR / "celery" / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        "store_processed": False,
    }
    for _d in ("broker", "control", "processed"):
        (VAR_DIR / "celery" / _d).mkdir(parents=True, exist_ok=True)
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND") or None
CELERY_TASK_IGNORE_RESULT = CELERY_RESULT_BACKEND is None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# Workers keep their database connection across tasks (Celery closes it after every
# task otherwise, and a new PostgreSQL connection costs more than most tasks).
CELERY_DB_REUSE_MAX = int(env("CELERY_DB_REUSE_MAX", "1000"))
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- Internationalisation -----------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("de", _("German")), ("ru", _("Russian"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

# --- Static files -------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "waba_portal" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media/"

# --- E-mail -----------------------------------------------------------------------
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "WABA Portal <no-reply@localhost>")
if env("EMAIL_URL"):
    # smtp://user:password@host:port
    from urllib.parse import unquote, urlparse

    _mail = urlparse(env("EMAIL_URL"))
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = _mail.hostname or "localhost"
    EMAIL_PORT = _mail.port or 587
    EMAIL_HOST_USER = unquote(_mail.username or "")
    EMAIL_HOST_PASSWORD = unquote(_mail.password or "")
    EMAIL_USE_TLS = _mail.scheme in {"smtp+tls", "submission"}

# --- Meta ---------------------------------------------------------------------------
META_APP_ID = env("META_APP_ID")
META_APP_SECRET = env("META_APP_SECRET")
META_CONFIG_ID = env("META_CONFIG_ID")
META_WEBHOOK_VERIFY_TOKEN = env("META_WEBHOOK_VERIFY_TOKEN")
GRAPH_API_BASE_URL = env("GRAPH_API_BASE_URL", "https://graph.facebook.com").rstrip("/")
GRAPH_API_VERSION = env("GRAPH_API_VERSION", "v23.0")
GRAPH_API_CONNECT_TIMEOUT = float(env("GRAPH_API_CONNECT_TIMEOUT", "5"))
GRAPH_API_READ_TIMEOUT = float(env("GRAPH_API_READ_TIMEOUT", "30"))
# First wait of the client's own retries of one call (doubling, jittered; graph/retry.py).
GRAPH_API_RETRY_BACKOFF_BASE = float(env("GRAPH_API_RETRY_BACKOFF_BASE", "0.5"))
# Solution partners share a credit line with client WABAs (empty: tech provider, skipped).
META_CREDIT_LINE_ID = env("META_CREDIT_LINE_ID")
META_SYSTEM_USER_TOKEN = env("META_SYSTEM_USER_TOKEN")
# A callback URL per WABA (override_callback_uri); empty uses the app's webhook URL.
META_WEBHOOK_CALLBACK_URL = env("META_WEBHOOK_CALLBACK_URL")
ONBOARDING_MAX_RETRIES = int(env("ONBOARDING_MAX_RETRIES", "5"))
ONBOARDING_RETRY_BASE_SECONDS = float(env("ONBOARDING_RETRY_BASE_SECONDS", "5"))
ONBOARDING_MAX_RETRY_DELAY_SECONDS = float(env("ONBOARDING_MAX_RETRY_DELAY_SECONDS", "900"))
# An onboarding with no progress for this long is picked up again (its worker died).
ONBOARDING_STALE_SECONDS = int(env("ONBOARDING_STALE_SECONDS", "180"))
SYNC_BATCH_CAP = int(env("SYNC_BATCH_CAP", "100"))  # WABAs per beat fan-out
SYNC_INTERVAL_SECONDS = int(env("SYNC_INTERVAL_SECONDS", "900"))
SYNC_MAX_RETRIES = int(env("SYNC_MAX_RETRIES", "5"))
SYNC_RETRY_BASE_SECONDS = float(env("SYNC_RETRY_BASE_SECONDS", "30"))
# Where the browser opens Embedded Signup: Meta's SDK in production, the mock Meta
# server's dialog locally and in tests.
EMBEDDED_SIGNUP_URL = env("EMBEDDED_SIGNUP_URL")

# --- Webhooks from Meta ---------------------------------------------------------------
# Meta batches up to 1,000 updates in one POST; bodies above this answer 413.
WEBHOOK_MAX_BODY_BYTES = int(env("WEBHOOK_MAX_BODY_BYTES", str(8 * 1024 * 1024)))
WEBHOOK_BATCH_SIZE = int(env("WEBHOOK_BATCH_SIZE", "200"))  # deliveries per worker transaction
WEBHOOK_MAX_ATTEMPTS = int(env("WEBHOOK_MAX_ATTEMPTS", "6"))  # then a dead letter
WEBHOOK_RETRY_BASE_SECONDS = float(env("WEBHOOK_RETRY_BASE_SECONDS", "30"))
WEBHOOK_DRAIN_SECONDS = float(env("WEBHOOK_DRAIN_SECONDS", "20"))  # one task's share, then requeue
# After a batch that was not full, the worker waits this long before claiming the next.
WEBHOOK_BATCH_WAIT_SECONDS = float(env("WEBHOOK_BATCH_WAIT_SECONDS", "0.05"))
# The processing flag's expiry: a running drain's heartbeat renews it every third of it,
# so a drain that died stops holding it this long after (services/kick.py).
WEBHOOK_KICK_TTL_SECONDS = int(env("WEBHOOK_KICK_TTL_SECONDS", "3"))
# The sweeper (beat) runs this often and kicks a drain for deliveries due this long that
# no drain holds: by default the flag's expiry (services/sweep.py).
WEBHOOK_SWEEP_SECONDS = float(env("WEBHOOK_SWEEP_SECONDS", "5"))
WEBHOOK_STALE_SECONDS = float(env("WEBHOOK_STALE_SECONDS", str(WEBHOOK_KICK_TTL_SECONDS)))
WEBHOOK_KICK_LOCAL_SECONDS = float(env("WEBHOOK_KICK_LOCAL_SECONDS", "0.02"))

# --- REST API -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "waba_portal.api.exception_handler",
}

# --- Security (production) ----------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Embedded Signup opens Meta's window, which answers through window.opener: the
# default "same-origin" would cut that link.
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin-allow-popups"
# Scripts, styles, frames and calls from our own origin only; no inline script without
# the request's nonce ({{ request.csp_nonce }}), no inline style, eval or framing. The
# connect page adds what Meta's SDK needs on its view (senders.views.accounts.index).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}
# Browser features no page of ours uses, off for our pages and every frame in them
# (waba_portal.security_headers). "browsing-topics" replaced "interest-cohort" (FLoC);
# the old name stays off for the browsers that still know it.
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer",
        "browsing-topics",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "hid",
        "interest-cohort",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
}
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_HSTS_SECONDS = int(env("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)

INVITATION_TTL_DAYS = int(env("INVITATION_TTL_DAYS", "7"))
# Invitation e-mails (new and resent) in any hour, per inviting account and per
# workspace; 0 switches a limit off (accounts/services/invitations.py).
INVITATION_EMAILS_PER_ACCOUNT_PER_HOUR = int(env("INVITATION_EMAILS_PER_ACCOUNT_PER_HOUR", "30"))
INVITATION_EMAILS_PER_TENANT_PER_HOUR = int(env("INVITATION_EMAILS_PER_TENANT_PER_HOUR", "100"))

# Settings of the number, template and channel features, by topic.
# -- numbers: add (H1)
# -- numbers: verify, register, PIN, remove (H2)
# -- display name, OBA, QR codes (H3)
# Official Business Account requests in review whose decision one beat round reads from
# Meta at most (the oldest first; waba_portal/celery.py runs a round every 30 minutes).
OBA_REFRESH_BATCH_CAP = int(env("OBA_REFRESH_BATCH_CAP", "200"))
# -- business profile and logo (H4)
# Sending a profile edit to Meta: bounded retries while Meta is unavailable.
PROFILE_SYNC_MAX_RETRIES = int(env("PROFILE_SYNC_MAX_RETRIES", "5"))
PROFILE_SYNC_RETRY_BASE_SECONDS = float(env("PROFILE_SYNC_RETRY_BASE_SECONDS", "10"))
# The logo: a JPEG of at least this many pixels a side (edna), of at most this size.
PROFILE_PICTURE_MIN_PIXELS = int(env("PROFILE_PICTURE_MIN_PIXELS", "400"))
PROFILE_PICTURE_MAX_BYTES = int(env("PROFILE_PICTURE_MAX_BYTES", str(5 * 1024 * 1024)))
# -- channel settings (H5)


def _tariffs(value: str) -> list[tuple[str, object]]:
    """``code:Label`` pairs, comma-separated; a pair without a label shows its code."""
    pairs = [item.partition(":") for item in value.split(",") if item.strip()]
    tariffs: list[tuple[str, object]] = [
        (code.strip(), label.strip() or code.strip()) for code, _s, label in pairs
    ]
    codes = [code for code, _label in tariffs]
    if not all(0 < len(code) <= 64 for code in codes) or len(set(codes)) != len(codes):
        raise ImproperlyConfigured(
            "WHATSAPP_TARIFFS: each tariff needs a code of 1 to 64 characters, each code once "
            "(for example WHATSAPP_TARIFFS=basic:Basic,premium:Premium)."
        )
    return tariffs


# The tariffs a channel can be put on (edna Pulse), as code and label; a new channel
# gets the first. Our default labels are translated; an operator's are shown as written.
WHATSAPP_TARIFFS: list[tuple[str, object]] = _tariffs(env("WHATSAPP_TARIFFS")) or [
    ("basic", _("Basic")),
    ("standard", _("Standard")),
    ("premium", _("Premium")),
]
# -- templates (T1/T2)
# A WABA's templates are read from Meta this often (beat), besides webhooks and Sync now.
TEMPLATE_SYNC_INTERVAL_SECONDS = int(env("TEMPLATE_SYNC_INTERVAL_SECONDS", "3600"))

# -- REST API (A1)
# API keys, idempotent POSTs and throttles (accounts/api_auth.py, accounts/idempotency.py),
# the OpenAPI schema and its docs (waba_portal/api_schema.py), cursor pagination and
# filters (waba_portal/api_pagination.py), and integrators' event webhooks
# (waba_portal/events/). See docs/api.md.
INSTALLED_APPS += [
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "waba_portal.events",
]
REST_FRAMEWORK.update(
    {
        # A Bearer key first; without one, the browser session (with its CSRF check).
        "DEFAULT_AUTHENTICATION_CLASSES": [
            "accounts.api_auth.ApiKeyAuthentication",
            "rest_framework.authentication.SessionAuthentication",
        ],
        "DEFAULT_THROTTLE_CLASSES": [
            "accounts.api_auth.CredentialThrottle",
            "accounts.api_auth.TenantThrottle",
        ],
        "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
        "DEFAULT_SCHEMA_CLASS": "waba_portal.api_schema.PortalAutoSchema",
    }
)
# Requests per window, per credential (an API key, or a signed-in member) and per
# workspace (all its credentials together); 0 switches a limit off. Over it: 429 with
# Retry-After.
API_THROTTLE_WINDOW_SECONDS = int(env("API_THROTTLE_WINDOW_SECONDS", "60"))
API_THROTTLE_PER_CREDENTIAL = int(env("API_THROTTLE_PER_CREDENTIAL", "600"))
API_THROTTLE_PER_TENANT = int(env("API_THROTTLE_PER_TENANT", "3000"))
# A key's "last used" time and address are written at most this often (and whenever
# the address changes), not at every request.
API_KEY_LAST_USE_INTERVAL_SECONDS = int(env("API_KEY_LAST_USE_INTERVAL_SECONDS", "60"))
# An Idempotency-Key's answer is kept this long; a request that died while holding one
# lets it go after the lock time.
IDEMPOTENCY_KEY_TTL_HOURS = int(env("IDEMPOTENCY_KEY_TTL_HOURS", "24"))
IDEMPOTENCY_LOCK_SECONDS = int(env("IDEMPOTENCY_LOCK_SECONDS", "300"))
# Integrators' event webhooks: https only and no private, loopback or link-local target
# (checked at save and at send, after DNS resolution) unless these say otherwise, as
# they do for a local run (DEBUG) and in tests.
EVENT_WEBHOOK_REQUIRE_HTTPS = env_bool("EVENT_WEBHOOK_REQUIRE_HTTPS", not DEBUG)
EVENT_WEBHOOK_ALLOW_PRIVATE_URLS = env_bool("EVENT_WEBHOOK_ALLOW_PRIVATE_URLS", DEBUG)
EVENT_DELIVERY_TIMEOUT_SECONDS = float(env("EVENT_DELIVERY_TIMEOUT_SECONDS", "10"))
# Retries: 5 s, 25 s, 2 min, 10 min, 52 min, 4.3 h, then 10 h twice: about a day in all,
# then the subscription is switched off and the managers are told.
EVENT_DELIVERY_MAX_RETRIES = int(env("EVENT_DELIVERY_MAX_RETRIES", "8"))
EVENT_DELIVERY_RETRY_BASE_SECONDS = float(env("EVENT_DELIVERY_RETRY_BASE_SECONDS", "5"))
EVENT_DELIVERY_RETRY_CAP_SECONDS = float(env("EVENT_DELIVERY_RETRY_CAP_SECONDS", "36000"))
# The beat task that sends deliveries whose retry is due runs this often.
EVENT_DELIVERY_SWEEP_SECONDS = float(env("EVENT_DELIVERY_SWEEP_SECONDS", "10"))
EVENT_DELIVERY_RESPONSE_CHARS = int(env("EVENT_DELIVERY_RESPONSE_CHARS", "1000"))
# After a secret is rotated, deliveries are signed with the old one too for this long.
EVENT_SECRET_ROTATION_GRACE_HOURS = int(env("EVENT_SECRET_ROTATION_GRACE_HOURS", "24"))
EVENT_RETENTION_DAYS = int(env("EVENT_RETENTION_DAYS", "30"))
SPECTACULAR_SETTINGS = {
    "TITLE": "WABA Portal API",
    "DESCRIPTION": (
        "The REST API of WABA Portal. Authenticate with an API key "
        "(`Authorization: Bearer wbp_live_...`, Settings → API keys) or a browser session. "
        'Every error answers `{"error": {"code", "message", "details"}}`.'
    ),
    "VERSION": "1",
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SCHEMA_PATH_PREFIX": r"/api/v1/t/\{tenant_slug\}",
    "COMPONENT_SPLIT_REQUEST": True,
    "PATH_CONVERTER_OVERRIDES": {
        "id": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
    },
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "persistAuthorization": False},
    # -- REST API (A2): one name per choice set that several fields use.
    "ENUM_NAME_OVERRIDES": {
        "WorkspaceRoleEnum": "accounts.models.Role",
        "ChannelRoleEnum": "senders.models.ChannelRole",
        "VerificationMethodEnum": "senders.models.VerificationMethod",
        "ProfileSyncStateEnum": "senders.models.ProfileSyncState",
        "DeliveryStatusEnum": "waba_portal.events.models.DeliveryStatus",
        "ConsentStateEnum": "inbox.models.ConsentState",
        "ConsentSourceEnum": "inbox.models.ConsentSource",
    },
    # `manage.py check --deploy` generates the schema too and reports its warnings:
    # every view is described (tests/api/test_conventions.py keeps it so).
    "ENABLE_DJANGO_DEPLOY_CHECK": True,
}

# -- inbox (I1)
# Media of inbound messages (inbox/services/media.py): at most this large, downloaded only
# from these hosts (a host or its subdomains): Meta's media hosts, and the Graph base
# URL's host when it is not Meta's (the mock Meta server in tests and the local demo).
INBOX_MEDIA_MAX_BYTES = int(env("INBOX_MEDIA_MAX_BYTES", str(100 * 1024 * 1024)))
from urllib.parse import urlsplit as _urlsplit  # noqa: E402

_graph_host = _urlsplit(GRAPH_API_BASE_URL).hostname or ""
INBOX_MEDIA_HOSTS = env_list(
    "INBOX_MEDIA_HOSTS",
    "fbsbx.com,fbcdn.net,facebook.com,whatsapp.net"
    + ("" if _graph_host.endswith("facebook.com") else f",{_graph_host}"),
)
INBOX_MEDIA_MAX_RETRIES = int(env("INBOX_MEDIA_MAX_RETRIES", "5"))
INBOX_MEDIA_RETRY_BASE_SECONDS = float(env("INBOX_MEDIA_RETRY_BASE_SECONDS", "30"))
# Auto-resolve (beat, every 5 minutes): conversations per UPDATE, and per run.
INBOX_AUTO_RESOLVE_BATCH = int(env("INBOX_AUTO_RESOLVE_BATCH", "500"))
INBOX_AUTO_RESOLVE_MAX_PER_RUN = int(env("INBOX_AUTO_RESOLVE_MAX_PER_RUN", "20000"))
# The agents' screens poll for changes this often (seconds); a change is shown again for
# this long after it was made (a transaction that committed late is still caught).
INBOX_POLL_SECONDS = int(env("INBOX_POLL_SECONDS", "2"))
INBOX_POLL_SETTLE_SECONDS = float(env("INBOX_POLL_SETTLE_SECONDS", "10"))

# --- inbox pacing (helper) ---
# Sending speed per number (inbox/services/pacing.py, NOTES §8): Meta's throughput of a
# number by its level (80 messages/s, 1,000 once Meta reports HIGH), of which this share
# is used (Meta counts inbound messages too, and our clock is not Meta's); the pair
# rate per number and customer (a burst of 45, then one per 6 s).
INBOX_PACING_RATE = float(env("INBOX_PACING_RATE", "80"))
INBOX_PACING_HIGH_RATE = float(env("INBOX_PACING_HIGH_RATE", "1000"))
INBOX_PACING_SHARE = float(env("INBOX_PACING_SHARE", "0.95"))
INBOX_PACING_PAIR_BURST = int(env("INBOX_PACING_PAIR_BURST", "45"))
INBOX_PACING_PAIR_INTERVAL_SECONDS = float(env("INBOX_PACING_PAIR_INTERVAL_SECONDS", "6"))
# A turn is reserved at most this far ahead; a message further back asks again then.
INBOX_PACING_MAX_WAIT_SECONDS = float(env("INBOX_PACING_MAX_WAIT_SECONDS", "900"))
# The burst of a number's door (pacing.departure_take): sends leaving at once.
INBOX_PACING_DEPARTURE_BURST = int(env("INBOX_PACING_DEPARTURE_BURST", "2"))
# Meta's 130429 / 131056 / 131057: retried with backoff up to this cap, this many times
# (about an hour in all), apart from the ordinary retries of a failed send.
INBOX_SEND_THROTTLE_BASE_SECONDS = float(env("INBOX_SEND_THROTTLE_BASE_SECONDS", "2"))
INBOX_SEND_THROTTLE_CAP_SECONDS = float(env("INBOX_SEND_THROTTLE_CAP_SECONDS", "300"))
INBOX_SEND_THROTTLE_MAX_RETRIES = int(env("INBOX_SEND_THROTTLE_MAX_RETRIES", "19"))
# --- end inbox pacing (helper) ---

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"refusals": {"()": "waba_portal.log_filters.RefusalsWithoutTraceback"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["refusals"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's own console handler would print every line a second time: one handler.
        "django": {"level": env("LOG_LEVEL", "INFO"), "handlers": [], "propagate": True},
        "django.db.backends": {"level": "WARNING"},
    },
}
