"""The embedded default (`make run`): SQLite, Celery eager, mail to the console, DEBUG off.

DEBUG=1 in the environment turns Django's debug pages on; without it the server answers as the
product does, with its own 404 and 500 pages, never a traceback or a list of every URL.
"""

from .base import *  # noqa: F401

# With DEBUG off runserver serves no static files, and whitenoise (base MIDDLEWARE) serves only
# what collectstatic gathered. Here whitenoise reads them straight from the apps' and the
# project's static folders instead, as its documentation suggests for development, and looks
# again on each request: a fresh checkout needs no collectstatic, and an edited stylesheet shows
# on the next reload, not a stale copy.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
