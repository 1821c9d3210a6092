"""The per-request lookups of signing in, in plain SQL.

Every signed-in request loads its session and then its user before anything else happens. On
our servers the ORM spends several times longer building those two small queries than the
database spends answering them, so they are written out here, as one: the session comes with
the user its sign-in recorded (governance.sessions) and the tokens of the stamps
(governance.reference, governance.kept), which nearly every page reads next. The user is taken
from there only when the session's own user id names them; everything else (signing in,
saving a session, clearing old ones) is Django's own.
"""

import threading

from django.contrib.auth.backends import ModelBackend
from django.contrib.sessions.backends import db
from django.db import connection
from django.utils import timezone

from governance import kept, reference, selectors
from governance.models import User

# the user's own columns, in the model's order
USER_COLUMNS = [field.column for field in User._meta.concrete_fields]
STAMPS = (reference.STAMP, kept.FIGURES, kept.SCHEMES)  # every name governance_stamp holds
# The session, the user its sign-in recorded (none: NULLs), the stamps' tokens and the user's
# unread notifications, which the menu of every page shows (notifications.context_processors).
_USER = ", ".join(f"u.{column}" for column in USER_COLUMNS)
_STAMPS = ", ".join(["(SELECT token FROM governance_stamp WHERE name = %s)"] * len(STAMPS))
_UNREAD = (
    "(SELECT COUNT(*) FROM notifications_notification n"
    " WHERE n.user_id = u.id AND n.read_at IS NULL)"
)
# written out from the model's own columns and placeholders: the values are parameters
_SESSION_SQL = (
    "SELECT s.session_data, {user}, {stamps}, {unread} FROM django_session s"
    " LEFT JOIN governance_usersession us ON us.session_key = s.session_key"
    " LEFT JOIN governance_user u ON u.id = us.user_id"
    " WHERE s.session_key = %s AND s.expire_date > %s"
)
SESSION_SQL = _SESSION_SQL.format(user=_USER, stamps=_STAMPS, unread=_UNREAD)
# Within a request: the user read with the session, for UserBackend.get_user.
_read = threading.local()


def _user(values) -> User:
    """A user from their row as the database gave it, converted as the ORM converts it (on
    SQLite: dates, times and booleans)."""
    fields = User._meta.concrete_fields
    converted = []
    for field, value in zip(fields, values, strict=True):
        column = field.get_col(User._meta.db_table)
        for convert in connection.ops.get_db_converters(column) + field.get_db_converters(
            connection
        ):
            value = convert(value, column, connection)
        converted.append(value)
    return User.from_db(connection.alias, [field.attname for field in fields], converted)


class UserBackend(ModelBackend):
    """Django's ModelBackend (sign-in, permissions), with the user of each request read with
    its session, or else in one plain query."""

    def get_user(self, user_id):
        user = getattr(_read, "user", None)
        _read.user = None
        if user is None or str(user.pk) != str(user_id):
            user = next(iter(selectors.by_id(User, [user_id]).values()), None)
            if user is None:
                return None
        return user if self.user_can_authenticate(user) else None


class SessionStore(db.SessionStore):
    """Django's database sessions, each request's session read in one plain query."""

    def load(self):
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(SESSION_SQL, [*STAMPS, self.session_key, now])
            row = cursor.fetchone()
        if row is None:
            self._session_key = None  # unknown or expired: a new session if one is saved
            return {}
        session_data, *user_values = row[: 1 + len(USER_COLUMNS)]
        *tokens, unread = row[1 + len(USER_COLUMNS) :]
        _read.user = None
        if user_values[0] is not None:
            _read.user = _user(user_values)
            _read.user.unread_read_with_session = unread
        reference.read_with_session(dict(zip(STAMPS, tokens, strict=True)))
        return self.decode(session_data)
