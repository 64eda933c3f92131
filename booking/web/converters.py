"""URL converters."""
from werkzeug.routing import BaseConverter


class TokenConverter(BaseConverter):
    """A URL-safe secret token; never matches a dot, so `<token>.ics` routes stay distinct."""

    regex = r"[A-Za-z0-9_\-]{1,128}"

#: Largest id a URL may name: ids are 32-bit integer columns, and a larger number
#: would overflow in the database instead of simply not being found.
MAX_ID = 2**31 - 1
