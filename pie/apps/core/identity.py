"""
Who is calling: the account an LMS JWT names, created or bound by the rules below, and the
learner a request acts for. See docs/api.rst, "Identity". A sign-in through the LMS
(``pie.apps.core.sso``) follows the same rules with the claims of the LMS's access token, so
a person's JWTs and sign-ins act as one account, whichever came first.

- A token names an account by ``preferred_username``. The first token for a username creates
  the account and marks it ``is_lms_account``; later tokens reuse it and keep its email and
  staff flag (the ``administrator`` claim) up to date from their claims.
- An account created here (``createsuperuser``, the admin) is local: a token naming it is
  refused, so that no token can take it over, rewrite it or use its rights.
- A token with a ``user_id`` claim names a learner. Its id is bound to the account the first
  time and must match ever after. A token without one (the LMS's client-credentials tokens,
  which carry ``user_id`` only when the ``user_id`` scope is granted) is a service's: it may
  use the service and retirement endpoints its role allows, never the learner endpoints.
- A retired learner's id never gets an account again.
"""

import functools
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction

from pie.apps.core.models import User
from pie.apps.core.selectors import lms_user_id_is_retired
from pie.apps.core.values import InvalidValue, parse_lms_user_id

USERNAME_MAX_LENGTH = User._meta.get_field("username").max_length
EMAIL_MAX_LENGTH = User._meta.get_field("email").max_length


class IdentityRefused(Exception):
    """The token cannot act as any account here; the message says why (for a 401)."""


@dataclass(frozen=True)
class LmsClaims:
    """What PIE takes from a verified LMS JWT."""

    username: str
    lms_user_id: int | None
    email: str | None
    is_staff: bool | None

    @classmethod
    def from_payload(cls, payload: dict) -> "LmsClaims":
        username = payload.get("preferred_username") or payload.get("username")
        if not isinstance(username, str) or not username.strip():
            raise IdentityRefused("The JWT must carry a preferred_username.")
        if len(username) > USERNAME_MAX_LENGTH:
            raise IdentityRefused(
                f"The JWT's preferred_username is longer than {USERNAME_MAX_LENGTH} characters."
            )
        email = payload.get("email")
        if email is not None and (not isinstance(email, str) or len(email) > EMAIL_MAX_LENGTH):
            raise IdentityRefused("The JWT's email claim is not a valid email address.")
        administrator = payload.get("administrator")
        return cls(
            username=username,
            lms_user_id=lms_user_id_claim(payload),
            email=email,
            is_staff=None if administrator is None else administrator is True,
        )


def lms_user_id_claim(payload: dict) -> int | None:
    """The token's ``user_id`` (a JSON integer, by the LMS user id rule), or None if absent."""
    value = payload.get("user_id")
    if value is None:
        return None
    # The LMS writes a JSON number; a string or a boolean is not a user id it issued.
    if not isinstance(value, int) or isinstance(value, bool):
        raise IdentityRefused("The JWT's user_id must be a positive integer.")
    try:
        return parse_lms_user_id(value)
    except InvalidValue as error:
        raise IdentityRefused(f"The JWT's user_id is not an LMS user id: {error}") from None


def user_for_lms_claims(claims: LmsClaims) -> User:
    """
    The account these verified claims name, created on first sight; raises
    ``IdentityRefused`` when the token may not act as it (see the module's rules).
    """
    user = _user_named(claims.username) or _user_create(claims)
    if not user.is_lms_account:
        raise IdentityRefused(
            "The JWT names a local account of PIE; tokens act only as accounts of the LMS."
        )
    changed = []
    if claims.lms_user_id is not None and user.lms_user_id != claims.lms_user_id:
        if user.lms_user_id is not None:
            raise IdentityRefused(
                "The JWT's user_id does not match the LMS user id known for this username."
            )
        _refuse_retired(claims.lms_user_id)
        user.lms_user_id = claims.lms_user_id
        changed.append("lms_user_id")
    if claims.email is not None and user.email != claims.email:
        user.email = claims.email
        changed.append("email")
    if claims.is_staff is not None and user.is_staff != claims.is_staff:
        user.is_staff = claims.is_staff
        changed.append("is_staff")
    if not user.is_active:
        raise IdentityRefused("This user account is disabled.")
    if changed:
        user.save(update_fields=changed)
    return user


# What a request reads of its account: identity's rules, permissions and the views. The other
# columns (password, names, dates) stay deferred and load only if something reads them.
_READ_BY_REQUESTS = frozenset(
    {"id", "username", "email", "is_active", "is_staff", "is_superuser"}
    | {"lms_user_id", "is_lms_account"}
)
# In the model's field order, which Model.from_db expects of a row.
REQUEST_FIELDS = tuple(
    field.attname for field in User._meta.concrete_fields if field.attname in _READ_BY_REQUESTS
)
_BOOLEAN_FIELDS = frozenset(
    name
    for name in REQUEST_FIELDS
    if User._meta.get_field(name).get_internal_type() == "BooleanField"
)


def _user_named(username: str) -> User | None:
    # Plain SQL, built once, and the instance made from its row: every authenticated request
    # runs this lookup, and the ORM's query and row conversion took three times as long as
    # the database's answer (118 against 31 us in process on SQLite). Usernames are unique.
    with connection.cursor() as cursor:
        cursor.execute(_user_named_sql(), [username])
        row = cursor.fetchone()
    if row is None:
        return None
    # SQLite and MySQL answer booleans as 0 and 1; the model's fields hold True and False.
    values = [
        bool(value) if name in _BOOLEAN_FIELDS else value
        for name, value in zip(REQUEST_FIELDS, row, strict=True)
    ]
    return User.from_db(connection.alias, REQUEST_FIELDS, values)


@functools.cache
def _user_named_sql() -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(User._meta.get_field(name).column) for name in REQUEST_FIELDS)
    username = quote(User._meta.get_field("username").column)
    return f"SELECT {columns} FROM {quote(User._meta.db_table)} WHERE {username} = %s LIMIT 1"


def _user_create(claims: LmsClaims) -> User:
    """The account for a username seen for the first time (or the row a racing request made)."""
    if claims.lms_user_id is not None:
        _refuse_retired(claims.lms_user_id)
    try:
        with transaction.atomic():
            return User.objects.create(
                username=claims.username, is_lms_account=True, lms_user_id=claims.lms_user_id
            )
    except IntegrityError:
        # The same username's first two requests raced; the other one created the row.
        user = _user_named(claims.username)
        if user is None:
            raise
        return user


def _refuse_retired(lms_user_id: int) -> None:
    if lms_user_id_is_retired(lms_user_id):
        raise IdentityRefused("This learner has been retired.")
