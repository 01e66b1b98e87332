"""
The LMS user id rule, shared by every path that takes one: JWTs, API paths and bodies, the
CSV import, events, the admin's search and commands. See docs/api.rst, "Identity".
"""

# LMS user ids are positive and stored in a 32-bit signed integer column.
MAX_LMS_USER_ID = 2**31 - 1
_MAX_DIGITS = len(str(MAX_LMS_USER_ID))


class InvalidValue(ValueError):
    """A value the caller sent is not acceptable; the message is fit to show the caller."""


def parse_lms_user_id(value) -> int:
    """
    A positive integer LMS user id, from an int or a string of ASCII digits (surrounding
    blanks allowed), 1 to 2,147,483,647. The length is checked before the text is parsed, so
    an id of thousands of digits costs nothing and is refused like any other.
    """
    if isinstance(value, bool):
        raise InvalidValue("Must be a positive integer.")
    if isinstance(value, int):
        lms_user_id = value
    else:
        text = str(value).strip() if value is not None else ""
        if not text.isascii() or not text.isdigit():
            raise InvalidValue("Must be a positive integer.")
        if len(text.lstrip("0")) > _MAX_DIGITS:
            raise InvalidValue(f"Must be between 1 and {MAX_LMS_USER_ID}.")
        lms_user_id = int(text)
    if not 0 < lms_user_id <= MAX_LMS_USER_ID:
        raise InvalidValue(f"Must be between 1 and {MAX_LMS_USER_ID}.")
    return lms_user_id
