"""Delivery: public answers compressed with Vary: Accept-Encoding, private ones never (their
secrets would leak through sizes), and static files cached for a year under their hash."""
from __future__ import annotations

import gzip
import re

import pytest

GZIP = {"Accept-Encoding": "gzip"}
#: What Chromium sends; files streamed from disk are compressed with a streaming codec.
BROWSER = {"Accept-Encoding": "gzip, deflate, br, zstd"}


@pytest.fixture
def published(make_event, make_slot, db):
    event = make_event()
    slot = make_slot(event)
    return event, slot


def test_a_public_page_travels_compressed_and_says_it_varies_by_encoding(client, published):
    event, _ = published
    plain = client.get(f"/events/{event.slug}")
    packed = client.get(f"/events/{event.slug}", headers=GZIP)

    assert packed.status_code == 200
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert gzip.decompress(packed.get_data()) == plain.get_data()
    assert len(packed.get_data()) < len(plain.get_data()) / 2


@pytest.mark.parametrize("address", ["/api/v1/openapi.json", "/feeds/events.ics"])
def test_public_json_and_calendars_travel_compressed(client, published, address):
    # (Answers under 500 bytes, such as a short event list, are not worth compressing.)
    response = client.get(address, headers=GZIP)
    assert response.status_code == 200, address
    assert response.headers.get("Content-Encoding") == "gzip", address
    assert gzip.decompress(response.get_data())


def test_an_unchanged_compressed_calendar_answers_304(client, published):
    first = client.get("/feeds/events.ics", headers=GZIP)
    again = client.get("/feeds/events.ics",
                       headers={**GZIP, "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_a_page_with_a_form_token_is_never_compressed(client, published):
    _, slot = published
    response = client.get(f"/slots/{slot.id}/book", headers=GZIP)
    assert response.status_code == 200
    assert 'name="csrf_token"' in response.get_data(as_text=True)
    assert "Content-Encoding" not in response.headers
    assert "no-store" in response.headers["Cache-Control"]


def test_static_files_are_addressed_by_hash_and_cached_for_a_year(client, published):
    event, _ = published
    html = client.get(f"/events/{event.slug}").get_data(as_text=True)
    stylesheet = re.search(r'href="(/static/css/site\.css\?v=[0-9a-f]{12})"', html)
    assert stylesheet, "the stylesheet's address carries its hash"

    fresh = client.get(stylesheet.group(1), headers=BROWSER)
    assert fresh.status_code == 200
    assert fresh.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert fresh.headers.get("Content-Encoding") in ("zstd", "br")

    for stale in ("/static/css/site.css", "/static/css/site.css?v=000000000000"):
        response = client.get(stale)
        assert response.status_code == 200
        assert "immutable" not in response.headers.get("Cache-Control", ""), stale
