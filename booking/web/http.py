"""HTTP answers shared by several blueprints."""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone

from flask import Response, request


def calendar_response(body: bytes, *, last_modified: datetime, filename: str) -> Response:
    """Serve calendar bytes with a strong ETag and Last-Modified; 304 when unchanged.

    The same bytes whatever the Accept header: calendar apps send all sorts of them.
    """
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.set_etag(hashlib.sha256(body).hexdigest())
    response.last_modified = last_modified.astimezone(timezone.utc).replace(microsecond=0)
    response.cache_control.no_cache = True
    return response.make_conditional(request)
