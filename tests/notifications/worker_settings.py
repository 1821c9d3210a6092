"""Settings of the Celery worker the integration tests start as a subprocess: the real stack
(the test database, Redis, SMTP to the test's sink) with short retry delays."""

import os

from config.settings.base import *  # noqa: F403

CELERY_BROKER_URL = os.environ["CELERY_BROKER_URL"]
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_DEFAULT_QUEUE = os.environ["QIPP_TEST_QUEUE"]
EMAIL_TIMEOUT = 5
QIPP_OUTBOX_RETRY_BASE_SECONDS = 0.5
QIPP_OUTBOX_RETRY_MAX_SECONDS = 2
LOGGING["loggers"]["qipp"]["level"] = "INFO"  # noqa: F405
