"""The embedded default: SQLite, Celery eager, mail to the console, DEBUG on."""

from .base import *  # noqa: F401

DEBUG = env_bool("DEBUG", True)
