"""Test settings: fast hashing, mail kept in memory, tasks eager unless a test says otherwise."""

from .base import *  # noqa: F401

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
MEDIA_ROOT = BASE_DIR / ".pytest_cache" / "media"
LOGGING["loggers"]["qipp"]["level"] = "WARNING"
# Tests sign in with client.login / force_login, which give the lockout check no request;
# tests/security turns the lockout on where it is the subject.
AXES_ENABLED = False
