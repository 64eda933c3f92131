"""Throttles shared by several routes."""
from __future__ import annotations

from flask import current_app

from booking.web.clients import limiter


def _booking_limit() -> str:
    return current_app.config["BOOKING_RATE_LIMIT"]


#: One budget per client for booking and cancelling, whether through the pages or the API,
#: so that switching between them does not double it.
booking_throttle = limiter.shared_limit(_booking_limit, scope="booking", methods=["POST"])
