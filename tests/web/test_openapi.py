"""The OpenAPI document describes the API that actually answers, and nothing else."""
from __future__ import annotations

import re
from datetime import datetime

import pytest

from booking.domain.models import EventStatus

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}
PATRON = {"name": "Ada Reader", "email": "ada@example.org", "accept_agreement": True}


@pytest.fixture
def document(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def resolve(document: dict, schema: dict) -> dict:
    while "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        schema = document["components"]["schemas"][name]
    return schema


def conforms(document: dict, schema: dict, value, where: str = "$") -> list[str]:
    """What in `value` disagrees with `schema`: a small subset of JSON Schema, enough here."""
    schema = resolve(document, schema)
    problems = []
    for part in schema.get("allOf", []):
        problems += conforms(document, part, value, where)
    types = schema.get("type")
    if types is not None:
        types = types if isinstance(types, list) else [types]
        checks = {
            "object": lambda v: isinstance(v, dict),
            "array": lambda v: isinstance(v, list),
            "string": lambda v: isinstance(v, str),
            "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "boolean": lambda v: isinstance(v, bool),
            "null": lambda v: v is None,
        }
        if not any(checks[t](value) for t in types):
            return problems + [f"{where}: {value!r} is not {types}"]
    if "const" in schema and value != schema["const"]:
        problems.append(f"{where}: {value!r} is not {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where}: {value!r} not in {schema['enum']}")
    if schema.get("format") == "date-time" and isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        if parsed.utcoffset() is None:
            problems.append(f"{where}: {value!r} has no offset")
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                problems.append(f"{where}: missing {key!r}")
        for key, subschema in schema.get("properties", {}).items():
            if key in value:
                problems += conforms(document, subschema, value[key], f"{where}.{key}")
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for key, item in value.items():
                problems += conforms(document, extra, item, f"{where}.{key}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            problems += conforms(document, schema["items"], item, f"{where}[{i}]")
    return problems


@pytest.fixture
def live_data(client, make_event, make_book, make_session, make_slot):
    """A published event with a reading, a session slot and a booking, to fill path parameters."""
    event = make_event(agreement_text="Be kind.")
    make_event(status=EventStatus.CANCELLED)
    reading = make_slot(event, book=make_book(), capacity=2)
    make_slot(event, session=make_session(event), capacity=10)
    booked = client.post(f"/api/v1/slots/{reading.id}/bookings", json=PATRON)
    assert booked.status_code == 201
    return {
        "slug": event.slug,
        "id": reading.id,
        "token": booked.get_json()["manage_url"].rsplit("/", 1)[-1],
    }


def test_the_document_is_openapi_3_1_and_its_references_resolve(document):
    assert document["openapi"].startswith("3.1")
    assert document["info"]["title"] and document["info"]["version"]
    assert document["servers"][0]["url"].endswith("/api/v1")
    text = repr(document)
    for name in re.findall(r"#/components/schemas/(\w+)", text):
        assert name in document["components"]["schemas"], name


def operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


def test_every_documented_operation_answers_with_a_documented_status_and_shape(
    client, document, live_data
):
    assert len(list(operations(document))) == 6
    for path, method, operation in operations(document):
        url = "/api/v1" + re.sub(r"\{(\w+)\}", lambda m: str(live_data[m.group(1)]), path)
        # A second patron books, so that the first one's booking stays there to be cancelled.
        kwargs = {}
        if "requestBody" in operation:
            kwargs["json"] = {**PATRON, "email": "grace@example.org"}

        response = client.open(url, method=method.upper(), **kwargs)

        documented = operation["responses"]
        status = str(response.status_code)
        assert status in documented, f"{method.upper()} {url} answered {status}"
        assert status.startswith("2"), f"{method.upper()} {url} answered {status}"
        schema = documented[status]["content"]["application/json"]["schema"]
        assert conforms(document, schema, response.get_json()) == [], f"{method.upper()} {url}"


@pytest.mark.parametrize(
    ("method", "documented_path", "url", "kwargs", "status"),
    [
        ("get", "/events/{slug}", "/events/no-such-event", {}, "404"),
        ("get", "/events/{slug}/slots", "/events/no-such-event/slots", {}, "404"),
        ("post", "/slots/{id}/bookings", "/slots/{id}/bookings",
         {"data": "{", "content_type": "application/json"}, "400"),
        ("post", "/slots/{id}/bookings", "/slots/999999/bookings", {"json": PATRON}, "404"),
        # The patron of `live_data` already holds this slot.
        ("post", "/slots/{id}/bookings", "/slots/{id}/bookings", {"json": PATRON}, "409"),
        ("post", "/slots/{id}/bookings", "/slots/{id}/bookings", {"json": {"name": "Ada"}}, "422"),
        ("post", "/slots/{id}/bookings", "/slots/{id}/bookings",
         {"data": "{" + " " * 1024 * 1024 + "}", "content_type": "application/json"}, "413"),
        ("post", "/bookings/{token}/cancel", "/bookings/" + "u" * 43 + "/cancel", {}, "404"),
    ],
)
def test_documented_error_answers_have_the_documented_shape(
    client, document, live_data, method, documented_path, url, kwargs, status
):
    response = client.open(
        "/api/v1" + url.format(id=live_data["id"]), method=method.upper(), **kwargs
    )

    assert str(response.status_code) == status
    documented = document["paths"][documented_path][method]["responses"]
    assert status in documented
    schema = documented[status]["content"]["application/json"]["schema"]
    assert conforms(document, schema, response.get_json()) == []


def test_cancelling_twice_is_documented_as_409(client, document, live_data):
    url = f"/api/v1/bookings/{live_data['token']}/cancel"
    assert client.post(url).status_code == 200

    second = client.post(url)

    assert second.status_code == 409
    assert "409" in document["paths"]["/bookings/{token}/cancel"]["post"]["responses"]


def _template(path: str) -> str:
    """A path with each parameter as {}, so /slots/<int:slot_id>/x matches /slots/{id}/x."""
    return re.sub(r"<[^>]+>|\{[^}]+\}", "{}", path)


def test_every_api_route_is_documented_and_every_documented_route_exists(app, document):
    routes = {
        (_template(rule.rule.removeprefix("/api/v1")), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    documented = {(_template(path), method) for path, method, _ in operations(document)}

    assert routes == documented
