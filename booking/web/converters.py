"""URL converters."""
from werkzeug.routing import BaseConverter


class TokenConverter(BaseConverter):
    """A URL-safe secret token; never matches a dot, so `<token>.ics` routes stay distinct."""

    regex = r"[A-Za-z0-9_\-]{1,128}"
