"""Settings for servicedesk. Everything that varies between machines comes from the
environment, read here and only here (see servicedesk/env.py and the README's table)."""

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from servicedesk import env

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env.get_str("SERVICEDESK_VAR_DIR", str(BASE_DIR / "var"))).resolve()

DEBUG = env.get_bool("DEBUG", True)
SECRET_KEY = env.get_secret_key("SECRET_KEY", debug=DEBUG, keep_in=VAR_DIR / "secret_key")
ALLOWED_HOSTS = env.get_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.get_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts",
    "outbox",
    "tickets",
    "slas",
    "surveys",
    "api",
    "dashboards",
    "webhooks",
    "knowledge",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "servicedesk.middleware.RefuseNulMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "servicedesk.urls"
WSGI_APPLICATION = "servicedesk.wsgi.application"

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
                "tickets.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {"default": env.get_database("DATABASE_URL", VAR_DIR / "servicedesk.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.get_time_zone("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
MEDIA_ROOT = Path(env.get_str("MEDIA_ROOT", str(VAR_DIR / "media")))
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

if not DEBUG:
    SESSION_COOKIE_SECURE = env.get_bool("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Email: console by default, SMTP (or a folder of files) by EMAIL_URL.
globals().update(env.get_email("EMAIL_URL"))
DEFAULT_FROM_EMAIL = env.get_str("DEFAULT_FROM_EMAIL", "servicedesk <servicedesk@localhost>")
SITE_URL = env.get_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# Attachments: what a requester or agent may upload.
ATTACHMENT_MAX_BYTES = env.get_int("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024, minimum=1)
DEFAULT_ATTACHMENT_EXTENSIONS = (
    "pdf png jpg jpeg gif webp txt csv log md docx xlsx pptx odt ods zip"
)
ATTACHMENT_ALLOWED_EXTENSIONS = env.get_list(
    "ATTACHMENT_ALLOWED_EXTENSIONS",
    DEFAULT_ATTACHMENT_EXTENSIONS.split(),
)
DATA_UPLOAD_MAX_MEMORY_SIZE = ATTACHMENT_MAX_BYTES + 1024 * 1024

# Celery: at-least-once delivery; the database, not the broker, holds every outbox row.
CELERY_BROKER_URL, CELERY_BROKER_TRANSPORT_OPTIONS = env.get_broker(
    "CELERY_BROKER_URL", VAR_DIR / "broker"
)
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 100
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A publish that cannot reach the broker gives up quickly: the outbox row is already
# committed and the periodic relay delivers it once the broker is back.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.3}
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_TASK_ALWAYS_EAGER = env.get_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
OUTBOX_RELAY_INTERVAL_SECONDS = env.get_int("OUTBOX_RELAY_INTERVAL_SECONDS", 30, minimum=1)
# Processes serving WSGI (servicedesk/wsgi.py) publish their outbox wake-ups at most once
# per this many milliseconds, for all committed meanwhile (outbox/publisher.py); 0 publishes
# each commit's at once. Never batched when tasks run eagerly, nor in workers and
# management commands. 50 ms: at 100 filings/s a process, CPU per commit of publishing
# 0.65-0.90 ms at once, 0.63-0.70 at 10 ms, 0.51-0.62 at 25, 0.36-0.42 at 50 (a loop of
# 4 threads, Redis); an email or webhook 50 ms later is not noticed.
OUTBOX_PUBLISH_BATCH_MS = env.get_int("OUTBOX_PUBLISH_BATCH_MS", 50, minimum=0)
SLA_SWEEP_INTERVAL_SECONDS = env.get_int("SLA_SWEEP_INTERVAL_SECONDS", 15, minimum=1)
DAILY_ROLLUP_INTERVAL_SECONDS = env.get_int("DAILY_ROLLUP_INTERVAL_SECONDS", 600, minimum=10)
# The leads' weekly digest goes out on Monday from this hour, in each department's zone.
DIGEST_SEND_HOUR = env.get_int("DIGEST_SEND_HOUR", 7, minimum=0)
if DIGEST_SEND_HOUR > 23:
    raise ImproperlyConfigured(f"DIGEST_SEND_HOUR must be 0 to 23, not {DIGEST_SEND_HOUR}.")
# The sweep has a queue of its own: behind a backlog of deliveries on the default queue,
# sweep messages (which expire after one interval) would otherwise wait their turn and
# expire unseen, delaying every warning and breach. Workers consume every queue listed.
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = (Queue("celery"), Queue("sweep"))
CELERY_TASK_ROUTES = {"slas.tasks.sla_sweep_task": {"queue": "sweep"}}
CELERY_BEAT_SCHEDULE = {
    "outbox-relay": {
        "task": "outbox.tasks.outbox_relay_task",
        "schedule": float(OUTBOX_RELAY_INTERVAL_SECONDS),
    },
    "sla-sweep": {
        "task": "slas.tasks.sla_sweep_task",
        "schedule": float(SLA_SWEEP_INTERVAL_SECONDS),
        # A sweep message older than the next one is worth nothing: drop it.
        "options": {"expires": float(SLA_SWEEP_INTERVAL_SECONDS)},
    },
    "ticket-autoclose": {"task": "tickets.tasks.ticket_autoclose_task", "schedule": 3600.0},
    # Hourly (dashboards.digest.DIGEST_RUN_INTERVAL); each run sends only what is due.
    "weekly-digest": {"task": "dashboards.tasks.weekly_digest_task", "schedule": 3600.0},
    # The dashboards' daily figures (dashboards.daily): the days that ended, the changed.
    "dashboards-daily-rollup": {
        "task": "dashboards.tasks.daily_rollup_task",
        "schedule": float(DAILY_ROLLUP_INTERVAL_SECONDS),
    },
    # Daily; the outbox's unique key makes it once per article per review period.
    "article-review-reminders": {
        "task": "knowledge.tasks.article_review_remind_task",
        "schedule": 86400.0,
    },
}
# A suggested article opened while filing counts as a deflection when its reader files no
# request to that department within this many hours.
KB_DEFLECTION_HOURS = env.get_int("KB_DEFLECTION_HOURS", 24, minimum=1)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.TokenRateThrottle"],
    # Requests per token (or per signed-in user), e.g. "1200/min"; see api/throttling.py.
    "DEFAULT_THROTTLE_RATES": {"token": env.get_str("API_RATE_LIMIT", "1200/min")},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "servicedesk API",
    "DESCRIPTION": (
        "File and follow requests between departments. Authenticate with a personal or "
        "service token (`Authorization: Bearer sd_…`) or the browser session. Every error "
        'has one shape: `{"error": {"status", "code", "message", "fields"}}`.'
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}
# The API's rate limits count in the default cache: a Redis URL makes every web process
# share the counts (CACHE_URL=redis://127.0.0.1:6379/1); the default is per process.
CACHE_URL = env.get_str("CACHE_URL", "")
if CACHE_URL and not CACHE_URL.startswith(("redis://", "rediss://")):
    raise ImproperlyConfigured(f"CACHE_URL must be a redis:// URL (or unset), not {CACHE_URL!r}.")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
        if CACHE_URL.startswith(("redis://", "rediss://"))
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.get_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # The filesystem broker has no host; kombu warns about it on every connection.
        "kombu.connection": {"level": "ERROR"},
    },
}
