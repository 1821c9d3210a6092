"""Settings shared by every environment. Everything that differs comes from the environment."""

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import dj_database_url
from csp.constants import NONE, SELF, UNSAFE_INLINE

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


SECRET_KEY = os.environ.get("SECRET_KEY", "insecure-local-only-key-change-me")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_fsm",
    "django_fsm_log",
    "axes",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files served from here, not from a CDN
    "governance",
    "identity",
    "qia",
    "notifications",
    "api",
    "demo",
]

MIDDLEWARE = [
    "config.logs.RequestIdMiddleware",
    "governance.middleware.RequestSizeMiddleware",
    "governance.middleware.NulCharacterMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Django's, answering as the view did when the session cannot be saved after it
    "governance.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "governance.middleware.SessionTimeoutMiddleware",
    "governance.middleware.DeputyMiddleware",
    "governance.middleware.PrivatePagesMiddleware",
    "governance.middleware.RefusalLogMiddleware",
    "governance.middleware.MethodNotAllowedMiddleware",
    "governance.middleware.DatabaseUnavailableMiddleware",
    # last: turns a locked-out sign-in into the lockout page
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "notifications.context_processors.unread_notifications",
            ],
        },
    },
]

# --- database: DATABASE_URL, or SQLite in the project folder ---
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Nothing here streams a large result set: a server-side cursor (three statements on
    # PostgreSQL for each drop-down of a model's rows) buys nothing but round trips.
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
    # Parameters sent apart from the SQL, and a statement run five times on a connection
    # prepared, so PostgreSQL plans it once per connection rather than on every request. A
    # pooler in transaction mode (pgbouncer) cannot keep prepared statements: set
    # DATABASE_PREPARED_STATEMENTS=0 behind one.
    if env_bool("DATABASE_PREPARED_STATEMENTS", True):
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            server_side_binding=True, prepare_threshold=5
        )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite: wait up to 20 s for a writer rather than failing at once with "database is
    # locked". A transaction takes its write lock when it begins (IMMEDIATE): one begun as a
    # reader and turned writer half-way cannot wait for the lock, so two saves at the same
    # moment failed at once despite the timeout.
    DATABASES["default"].setdefault("OPTIONS", {}).update(timeout=20, transaction_mode="IMMEDIATE")
    # The INCLUDE columns of governance.Scheme's covering index are a PostgreSQL optimisation;
    # SQLite uses the index without them, so its warning that it ignores them says nothing.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "governance.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# The lockout check runs first on every sign-in, then the password check, then the identity
# provider's (identity.backends; each answers only the sign-in that is its own).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "identity.backends.PasswordBackend",
    "identity.backends.ProviderBackend",
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True
USE_THOUSAND_SEPARATOR = False

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Uploads: documents up to 20 MB each; Django streams anything above 2.5 MB to a temp file.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
QIPP_DOCUMENT_MAX_BYTES = 20 * 1024 * 1024

# No request may be larger than this: a document of 20 MB and its form, with room to spare
# (governance.middleware.RequestSizeMiddleware answers 413 before reading it). Set the proxy
# in front (client_max_body_size on nginx) to the same.
QIPP_REQUEST_MAX_BYTES = int(os.environ.get("QIPP_REQUEST_MAX_BYTES", 25 * 1024 * 1024))
# Zip archives (.xlsx, .docx, .odt) are refused when they unpack to more than this, or a part
# of them compresses absurdly well (governance.archives).
QIPP_ARCHIVE_MAX_BYTES = 200 * 1024 * 1024
QIPP_ARCHIVE_MAX_RATIO = 100
# An import larger than this is refused with the reason, before it takes the server's memory:
# a year of 10,000 schemes is 120,000 returns.
QIPP_IMPORT_MAX_ROWS = 200_000
QIPP_IMPORT_MAX_COLUMNS = 100
QIPP_IMPORT_MAX_CELLS = 3_000_000

# The cache holds only what may be lost: how far an import on a worker has got, for its page.
# In the process's memory by default; on the real stack Redis (CACHE_URL), shared by the
# workers and the web, where a cache that does not answer within a second is passed over.
if os.environ.get("CACHE_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["CACHE_URL"],
            "OPTIONS": {"socket_timeout": 1, "socket_connect_timeout": 1},
        }
    }

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Messages ("saved", "refused: ...") in a signed cookie, the session only for what does not
# fit: a message survives a session that could not be saved (governance.middleware).
MESSAGE_STORAGE = "django.contrib.messages.storage.fallback.FallbackStorage"


# --- e-mail: EMAIL_URL (smtp://user:pass@host:port?tls=1), default to the console ---
def _email_settings(url: str | None) -> dict:
    if not url or url.startswith("console"):
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if url.startswith("locmem"):
        return {"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    parsed = urlparse(url)
    query = parse_qs(parsed.query)
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": parsed.hostname or "localhost",
        "EMAIL_PORT": parsed.port or 25,
        "EMAIL_HOST_USER": unquote(parsed.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parsed.password or ""),
        "EMAIL_USE_TLS": query.get("tls", ["0"])[0] in {"1", "true"},
        "EMAIL_USE_SSL": parsed.scheme == "smtps",
        "EMAIL_TIMEOUT": 10,
    }


globals().update(_email_settings(os.environ.get("EMAIL_URL")))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "QIPP governance <qipp@localhost>")
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# --- Celery: Redis in the real stack; with no broker set, tasks run eagerly in-process ---
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
# A broker that does not answer (Redis frozen or unreachable) costs a request at most about
# a second: each socket waits one, and a message that cannot be published is not retried
# here. Nothing is lost: the mail stays pending in the outbox, and the outbox sweep hands it
# (and any escalation rules left to run) to a worker once the broker answers again.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "socket_timeout": 1,
    "socket_connect_timeout": 1,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 1
CELERY_TASK_PUBLISH_RETRY = False
CELERY_TASK_ACKS_LATE = True
CELERY_TIMEZONE = TIME_ZONE

# --- logs: one JSON object a line on stderr, with the request's id (config/logs.py) ---
LOG_LEVEL = os.environ.get("QIPP_LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "config.logs.JsonFormatter"}},
    "handlers": {
        "stderr": {"class": "logging.StreamHandler", "formatter": "json"},
        # only when ADMINS is set: each server error mailed to them too
        "mail_admins": {
            "class": "django.utils.log.AdminEmailHandler",
            "level": "ERROR",
            "filters": ["require_debug_false"],
        },
    },
    "filters": {"require_debug_false": {"()": "django.utils.log.RequireDebugFalse"}},
    "loggers": {
        "qipp": {"handlers": ["stderr"], "level": LOG_LEVEL},
        # a server error Django handles: its traceback, the request and its id
        "django.request": {
            "handlers": ["stderr", "mail_admins"],
            "level": "ERROR",
            "propagate": False,
        },
        "django.security": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
    },
}
# ADMINS="Ann Smith <ann@example.nhs.uk>, ops@example.nhs.uk": who is mailed a server error.
ADMINS = [
    (address.split("<")[0].strip() or address.strip(), address.split("<")[-1].rstrip(">").strip())
    for address in env_list("ADMINS")
]
SERVER_EMAIL = os.environ.get("SERVER_EMAIL", DEFAULT_FROM_EMAIL)
# SENTRY_DSN: each server error (and a sample of nothing else) also goes to Sentry.
if os.environ.get("SENTRY_DSN"):
    import sentry_sdk

    sentry_sdk.init(
        dsn=os.environ["SENTRY_DSN"],
        environment=os.environ.get("SENTRY_ENVIRONMENT", "production"),
        send_default_pii=False,  # no names, e-mails or addresses of the people using it
        traces_sample_rate=0,
    )

# --- product rules (DESIGN.md); each may be overridden in the environment-specific settings ---
QIPP_PAGE_SIZE = 25
# RAG (DESIGN.md "Delivery tracking"): amber when behind year-to-date plan by more than this %,
# red by more than the red %, or when the forecast outturn falls short of plan by more than it.
QIPP_RAG_AMBER_PERCENT = 5
QIPP_RAG_RED_PERCENT = 10
QIPP_RAG_FORECAST_RED_PERCENT = 10
# A month's return is due by this day of the following month.
QIPP_RETURN_DEADLINE_DAY = 10

# --- security (docs/security.md) ---

# Sign-in lockout: after AXES_FAILURE_LIMIT failed sign-ins for one username from one address,
# that pair waits AXES_COOLOFF_TIME. Locking the pair, not the username, and always letting the
# lockout expire: nobody can lock a named colleague out from elsewhere, or for good.
AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# more tries while locked out do not restart the wait: the lockout ends on time
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "governance.middleware.locked_out"
# each failed sign-in is also kept as a row of its own (Access failures), which unlocking
# someone (deleting their access attempts) leaves in place: the record of who tried what
AXES_ENABLE_ACCESS_FAILURE_LOG = True
# a sign-in through the identity provider is not counted (identity.backends)
AXES_WHITELIST_CALLABLE = "identity.backends.is_provider_sign_in"
# Behind reverse proxies the client's address is in X-Forwarded-For: TRUSTED_PROXY_COUNT says
# how many proxies there are (each adds the address it received the request from), so the
# lockout keys on the person's own address, which they cannot choose by sending the header
# (config/client_ip.py). Production refuses to start without it.
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
AXES_CLIENT_IP_CALLABLE = "config.client_ip.client_ip"

# Sessions (database-backed): signed out after QIPP_SESSION_IDLE_MINUTES without a request, and
# QIPP_SESSION_MAX_HOURS after signing in whatever happens (governance.middleware).
SESSION_ENGINE = "django.contrib.sessions.backends.db"
QIPP_SESSION_IDLE_MINUTES = int(os.environ.get("QIPP_SESSION_IDLE_MINUTES", "30"))
QIPP_SESSION_MAX_HOURS = int(os.environ.get("QIPP_SESSION_MAX_HOURS", "12"))
SESSION_COOKIE_AGE = QIPP_SESSION_MAX_HOURS * 3600
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# Sign-in with NHSmail / Entra ID (OpenID Connect, docs/sign-in.md): off unless OIDC_ISSUER is
# set, e.g. https://login.microsoftonline.com/<tenant id>/v2.0. The provider's endpoints come
# from its discovery document; the ID token must name this issuer and this client.
OIDC_ISSUER = os.environ.get("OIDC_ISSUER", "").strip()
OIDC_RP_CLIENT_ID = os.environ.get("OIDC_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = os.environ.get("OIDC_CLIENT_SECRET", "")
# Entra ID tenant ids ('tid') whose people may sign in; empty: whichever the issuer signs in.
OIDC_ALLOWED_TENANTS = env_list("OIDC_ALLOWED_TENANTS")
OIDC_SIGN_IN_LABEL = os.environ.get("OIDC_SIGN_IN_LABEL", "Sign in with NHSmail")
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_RP_SCOPES = "openid email profile"
OIDC_USE_PKCE = True
OIDC_USE_NONCE = True
OIDC_STORE_ID_TOKEN = True  # sent back to the provider at sign-out (id_token_hint)
OIDC_TIMEOUT = 10
OIDC_AUTHENTICATION_CALLBACK_URL = "nhsmail_callback"
# On: only superusers sign in with a password (break-glass, for when the provider is down);
# everyone else signs in through the provider.
QIPP_PASSWORD_SIGN_IN_SUPERUSERS_ONLY = env_bool("QIPP_PASSWORD_SIGN_IN_SUPERUSERS_ONLY", False)

# Content Security Policy: scripts and styles from our own origin only. Inline style="" attributes
# are allowed (style-src-attr); inline <script> and on*= handlers are not (tests/security).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}

if OIDC_ISSUER:
    # Signing out posts a form whose answer sends the browser on to sign out at the provider:
    # form-action must allow the provider's address, or the browser stops there.
    _provider = urlparse(OIDC_ISSUER)
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"].append(
        f"{_provider.scheme}://{_provider.netloc}"
    )

# A refused CSRF check is a refusal like any other: logged, and a page that says why.
CSRF_FAILURE_VIEW = "governance.middleware.csrf_failure"


# --- the read-only API (api/): tokens only, read only, paginated, rate-limited ---
REST_FRAMEWORK = {
    # a key in the Authorization header only: no session, so no other site can borrow a
    # signed-in browser to read it
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.ApiTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.ApiPagination",
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "api_token": os.environ.get("QIPP_API_RATE", "600/hour"),
        # calls refused for a missing or wrong key, per address (api.throttling)
        "api_refused": os.environ.get("QIPP_API_REFUSED_RATE", "60/hour"),
    },
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "QIPP governance API",
    "DESCRIPTION": (
        "Read-only. Send the header `Authorization: Bearer <key>`, with a key made on your "
        "Account page. A token sees what its owner's pages show, in the organisations it names."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # no "valid" badge fetched from swagger.io: the CSP allows our own origin only
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
}
