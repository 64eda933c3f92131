"""Throttles count per client behind a trusted proxy, and a forged X-Forwarded-For is ignored."""
from __future__ import annotations

import pytest

from booking import create_app

PROXY = "10.0.0.5"


@pytest.fixture
def throttled(app_config, db):
    """An app that allows two booking requests a minute per client, with `hops` proxies."""
    made = []

    def throttled(hops: int):
        app = create_app({**app_config, "RATELIMIT_ENABLED": True,
                          "BOOKING_RATE_LIMIT": "2 per minute", "TRUSTED_PROXIES": hops})
        made.append(app)
        return app.test_client()

    yield throttled
    for app in made:
        with app.app_context():
            db.engine.dispose()


def cancel_from(client, forwarded_for: str) -> int:
    """A cancellation through the API (no such booking: it is still counted)."""
    return client.post("/api/v1/bookings/no-such-token/cancel",
                       environ_base={"REMOTE_ADDR": PROXY},
                       headers={"X-Forwarded-For": forwarded_for}).status_code


def test_behind_one_trusted_proxy_each_client_has_its_own_throttle(throttled):
    client = throttled(1)

    first = [cancel_from(client, "203.0.113.1") for _ in range(3)]
    second = [cancel_from(client, "198.51.100.7") for _ in range(2)]

    assert first == [404, 404, 429]
    assert second == [404, 404]


def test_a_client_cannot_pick_its_address_through_the_proxy_header(throttled):
    client = throttled(1)

    # The proxy appends the address it saw: a client's own X-Forwarded-For comes first.
    codes = [cancel_from(client, f"192.0.2.{n}, 203.0.113.1") for n in range(3)]

    assert codes == [404, 404, 429]


def test_without_trusted_proxies_a_forged_forwarded_for_is_ignored(throttled):
    client = throttled(0)

    codes = [cancel_from(client, f"192.0.2.{n}") for n in range(3)]

    assert codes == [404, 404, 429]
