"""The per-request lookups of signing in, in plain SQL.

Every signed-in request loads its session and then its user before anything else happens. On
our servers the ORM spends several times longer building those two small queries than the
database spends answering them, so both are written out here; everything else (signing in,
saving a session, clearing old ones) is Django's own.
"""

from django.contrib.auth.backends import ModelBackend
from django.contrib.sessions.backends import db
from django.db import connection
from django.utils import timezone

from governance.models import User


class UserBackend(ModelBackend):
    """Django's ModelBackend (sign-in, permissions), with the user of each request read in
    one plain query."""

    def get_user(self, user_id):
        # the model's own columns, and the id as a parameter
        columns = ", ".join(field.column for field in User._meta.concrete_fields)
        sql = "SELECT %s FROM governance_user WHERE id = %%s" % columns  # noqa: S608, UP031  # nosec B608
        found = list(User.objects.raw(sql, [user_id]))
        if not found:
            return None
        return found[0] if self.user_can_authenticate(found[0]) else None


class SessionStore(db.SessionStore):
    """Django's database sessions, each request's session read in one plain query."""

    def load(self):
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT session_data FROM django_session"
                " WHERE session_key = %s AND expire_date > %s",
                [self.session_key, now],
            )
            row = cursor.fetchone()
        if row is None:
            self._session_key = None  # unknown or expired: a new session if one is saved
            return {}
        return self.decode(row[0])
