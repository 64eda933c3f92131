"""The OpenAPI document describes the API that actually answers, and nothing else.

Each answer is checked twice: against the schema the document gives for its status (`conforms`,
a small JSON Schema reader), and by the model that schema was generated from, strictly and with
no field beyond the documented ones (`answers_as_documented`).
"""
from __future__ import annotations

import json
import re
from datetime import datetime

import pytest
from pydantic import TypeAdapter, ValidationError

from booking.domain.commands import Patron, rule_of
from booking.domain.errors import Busy
from booking.domain.models import EventStatus
from booking.services import reservations
from booking.web import openapi

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}
PATRON = {"name": "Ada Reader", "email": "ada@example.org", "accept_agreement": True}


@pytest.fixture
def settings() -> dict:
    """Settings a test puts over the shared ones (a test parametrizes it to change them)."""
    return {}


@pytest.fixture
def app_config(app_config, settings):
    return {**app_config, **settings}


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
    if "anyOf" in schema:
        branches = [conforms(document, part, value, where) for part in schema["anyOf"]]
        if all(branches):
            problems.append(f"{where}: {value!r} matches none of {schema['anyOf']}")
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
        elif extra is False:
            undocumented = set(value) - set(schema.get("properties", {}))
            if undocumented:
                problems.append(f"{where}: undocumented {sorted(undocumented)}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            problems.append(f"{where}: {value!r} is below {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            problems.append(f"{where}: {value!r} is above {schema['maximum']}")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            problems.append(f"{where}: {value!r} is shorter than {schema['minLength']}")
        if len(value) > schema.get("maxLength", len(value)):
            problems.append(f"{where}: {value!r} is longer than {schema['maxLength']}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            problems += conforms(document, schema["items"], item, f"{where}[{i}]")
    return problems


def model_for(schema: dict) -> TypeAdapter | None:
    """The model a documented schema was generated from (a list of it, for an array)."""
    def named(ref: str):
        return openapi.models()[ref.removeprefix("#/components/schemas/")]

    if "$ref" in schema:
        return TypeAdapter(named(schema["$ref"]))
    if schema.get("type") == "array" and "$ref" in schema.get("items", {}):
        return TypeAdapter(list[named(schema["items"]["$ref"])])
    return None


def answers_as_documented(document: dict, responses: dict, response) -> list[str]:
    """What in `response` disagrees with the answer documented for its status: by the schema,
    then by the model behind it (strictly: no coercion, no field it does not declare), which
    must write the very same body back, field for field and in the same order."""
    status = str(response.status_code)
    if status not in responses:
        return [f"{status} is not documented"]
    schema = responses[status]["content"]["application/json"]["schema"]
    body = response.get_json()
    problems = conforms(document, schema, body)
    model = model_for(schema)
    if model is not None:
        try:
            value = model.validate_json(response.get_data(), strict=True)
        except ValidationError as exc:
            return problems + [str(exc)]
        written = model.dump_python(value, mode="json")
        if json.dumps(written) != json.dumps(body):
            problems.append(f"the model writes {written!r}, the API answered {body!r}")
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
        assert answers_as_documented(document, documented, response) == [], (
            f"{method.upper()} {url}")


def refusal(method, documented_path, url, kwargs, status, *, settings=None, busy=None, id=None):
    """A request that gets a documented refusal: under `settings`, with the service `busy`
    (reservations.book or .cancel answering that the database is too busy) if named."""
    return pytest.param(method, documented_path, url, kwargs, status, settings or {}, busy, id=id)


#: One booking per client and minute: the booking `live_data` makes uses it up.
THROTTLED = {"RATELIMIT_ENABLED": True, "BOOKING_RATE_LIMIT": "1 per minute"}
GRACE = {**PATRON, "email": "grace@example.org"}

DOCUMENTED_REFUSALS = [
    refusal("get", "/events/{slug}", "/events/no-such-event", {}, "404"),
    refusal("get", "/events/{slug}/slots", "/events/no-such-event/slots", {}, "404"),
    refusal("post", "/slots/{id}/bookings", "/slots/{id}/bookings",
            {"data": "{", "content_type": "application/json"}, "400"),
    refusal("post", "/slots/{id}/bookings", "/slots/999999/bookings", {"json": PATRON}, "404"),
    # The patron of `live_data` already holds this slot.
    refusal("post", "/slots/{id}/bookings", "/slots/{id}/bookings", {"json": PATRON}, "409"),
    refusal("post", "/slots/{id}/bookings", "/slots/{id}/bookings", {"json": {"name": "Ada"}},
            "422"),
    refusal("post", "/slots/{id}/bookings", "/slots/{id}/bookings",
            {"data": "{" + " " * 1024 * 1024 + "}", "content_type": "application/json"}, "413"),
    refusal("post", "/slots/{id}/bookings", "/slots/{id}/bookings", {"json": GRACE}, "429",
            settings=THROTTLED, id="booking-throttled"),
    # The hold `live_data` took is this client's one unconfirmed hold allowed at the event.
    refusal("post", "/slots/{id}/bookings", "/slots/{id}/bookings", {"json": GRACE}, "429",
            settings={"BOOKING_CONFIRMATION": "email", "HOLDS_PER_CLIENT_PER_EVENT": 1},
            id="too-many-holds"),
    refusal("post", "/slots/{id}/bookings", "/slots/{id}/bookings", {"json": GRACE}, "503",
            busy="book", id="booking-busy"),
    refusal("post", "/bookings/{token}/cancel", "/bookings/" + "u" * 43 + "/cancel", {}, "404"),
    refusal("post", "/bookings/{token}/cancel", "/bookings/{token}/cancel", {}, "429",
            settings=THROTTLED, id="cancel-throttled"),
    refusal("post", "/bookings/{token}/cancel", "/bookings/{token}/cancel", {}, "503",
            busy="cancel", id="cancel-busy"),
]


@pytest.mark.parametrize(
    ("method", "documented_path", "url", "kwargs", "status", "settings", "busy"),
    DOCUMENTED_REFUSALS,
)
def test_documented_error_answers_have_the_documented_shape(
    client, document, live_data, monkeypatch, method, documented_path, url, kwargs, status, busy
):
    if busy:
        def too_busy(*args, **kwargs):
            raise Busy()
        monkeypatch.setattr(reservations, busy, too_busy)

    response = client.open(
        "/api/v1" + url.format(**live_data), method=method.upper(), **kwargs
    )

    assert str(response.status_code) == status
    documented = document["paths"][documented_path][method]["responses"]
    assert status in documented
    schema = documented[status]["content"]["application/json"]["schema"]
    assert conforms(document, schema, response.get_json()) == []
    assert answers_as_documented(document, documented, response) == []


def test_cancelling_twice_is_documented_as_409(client, document, live_data):
    url = f"/api/v1/bookings/{live_data['token']}/cancel"
    assert client.post(url).status_code == 200

    second = client.post(url)

    assert second.status_code == 409
    assert "409" in document["paths"]["/bookings/{token}/cancel"]["post"]["responses"]
    documented = document["paths"]["/bookings/{token}/cancel"]["post"]["responses"]
    assert answers_as_documented(document, documented, second) == []


def test_every_documented_answer_is_given_by_a_test_here(document):
    # Each operation's one success is what test_every_documented_operation_... gets; the
    # refusals are DOCUMENTED_REFUSALS, and the second cancel (409) the test above.
    successes = {(method, path, status) for path, method, operation in operations(document)
                 for status in operation["responses"] if status.startswith("2")}
    refusals = {tuple(case.values[:2]) + (case.values[4],) for case in DOCUMENTED_REFUSALS}
    refusals.add(("post", "/bookings/{token}/cancel", "409"))
    documented = {(method, path, status) for path, method, operation in operations(document)
                  for status in operation["responses"]}

    assert len(successes) == len(list(operations(document)))
    assert refusals <= documented
    assert documented == successes | refusals


@pytest.mark.parametrize("settings", [{"BOOKING_CONFIRMATION": "email"}])
def test_a_hold_is_answered_as_documented_with_when_it_lapses(client, document, live_data):
    response = client.post(f"/api/v1/slots/{live_data['id']}/bookings", json=GRACE)

    assert response.status_code == 201
    assert response.get_json()["status"] == "pending"
    assert datetime.fromisoformat(response.get_json()["hold_expires_at"]).utcoffset() is not None
    documented = document["paths"]["/slots/{id}/bookings"]["post"]["responses"]
    assert answers_as_documented(document, documented, response) == []


@pytest.mark.parametrize(
    "body",
    [
        {"id": 1, "status": "confirmed", "manage_url": "http://x/b/t", "ics_url": "http://x/t.ics",
         "patron_email": "ada@example.org"},
        {"id": 1, "status": "confirmed", "manage_url": "http://x/b/t"},
        {"id": "1", "status": "confirmed", "manage_url": "http://x/b/t", "ics_url": "http://x/t"},
        {"id": 1, "status": "cancelled", "manage_url": "http://x/b/t", "ics_url": "http://x/t"},
        {"id": 1, "status": "pending", "manage_url": "http://x/b/t", "ics_url": "http://x/t",
         "hold_expires_at": "2030-07-01T10:00:00"},
        {"id": 1, "status": "pending", "manage_url": "http://x/b/t", "ics_url": "http://x/t",
         "hold_expires_at": None},
        {"status": "confirmed", "id": 1, "manage_url": "http://x/b/t", "ics_url": "http://x/t"},
    ],
    ids=["undocumented-field", "missing-field", "string-for-integer", "undocumented-value",
         "no-offset", "null-for-absent", "other-order"],
)
def test_an_answer_that_strays_from_its_documented_model_is_caught(app, document, body):
    answer = app.response_class(json.dumps(body), status=201, mimetype="application/json")
    documented = document["paths"]["/slots/{id}/bookings"]["post"]["responses"]

    assert answers_as_documented(document, documented, answer) != []


def booking_body(document: dict) -> dict:
    """The documented body of POST /slots/{id}/bookings."""
    body = document["paths"]["/slots/{id}/bookings"]["post"]["requestBody"]
    return resolve(document, body["content"]["application/json"]["schema"])


def test_the_documented_booking_body_is_the_patron_command(document):
    body = booking_body(document)

    assert list(body["properties"]) == list(Patron.model_fields)
    assert set(body["required"]) == {
        name for name, field in Patron.model_fields.items() if field.is_required()}
    for name, field in body["properties"].items():
        rule = rule_of(Patron, name)
        if name not in body["required"]:
            assert field["default"] == Patron.model_fields[name].default, name
        assert field.get("maxLength") == rule.max_length, name
        assert field.get("minimum") == rule.minimum, name


def text_of_length(field: dict, length: int, tag: str) -> str:
    """A value of exactly `length` characters, valid for the field but for its length (an
    address, for an e-mail field: a 64-character local part, then labels of at most 63)."""
    if field.get("format") != "email":
        return (tag + "x" * length)[:length]
    local = (tag + "x" * 64)[:64]
    labels, left = [], length - len(local) - len("@") - len(".org")
    while left > 0:
        # Each further label costs a dot and at least one character, so never leave just one.
        size = min(63, left) if left - min(63, left) != 1 else min(63, left) - 1
        labels.append("d" * size)
        left -= size + (1 if left > size else 0)
    return f"{local}@{'.'.join(labels)}.org"


def test_the_booking_body_is_held_to_its_documented_required_fields_and_limits(
    client, document, live_data
):
    body = booking_body(document)
    url = f"/api/v1/slots/{live_data['id']}/bookings"

    def post(n: int, **fields):
        return client.post(url, json={**PATRON, "email": f"patron{n}@example.org", **fields})

    for n, name in enumerate(body["required"]):
        without = client.post(url, json={k: v for k, v in {
            **PATRON, "email": f"missing{n}@example.org"}.items() if k != name})
        assert without.status_code == 422, name
        assert without.get_json()["errors"][name] == [rule_of(Patron, name).missing_message()]
    for n, (name, field) in enumerate(body["properties"].items()):
        if "maxLength" in field:
            limit = field["maxLength"]
            over = post(n, **{name: text_of_length(field, limit + 1, f"over{n}")})
            assert over.status_code == 422, name
            assert over.get_json()["errors"][name] == [rule_of(Patron, name).too_long()]
            at_limit = post(100 + n, **{name: text_of_length(field, limit, f"at{n}")})
            assert at_limit.status_code == 201, (name, at_limit.get_json())
        if "minimum" in field:
            below = post(200 + n, **{name: field["minimum"] - 1})
            assert below.status_code == 422, name
            assert list(below.get_json()["errors"]) == [name]
        if field.get("minLength"):
            empty = post(300 + n, **{name: ""})
            assert empty.status_code == 422, name
            assert list(empty.get_json()["errors"]) == [name]


#: The JSON Schema keywords the document may use; anything else (pydantic's "$defs", say)
#: would not resolve or mean nothing to an OpenAPI 3.1 reader.
SCHEMA_KEYWORDS = {"$ref", "type", "properties", "required", "additionalProperties", "items",
                   "enum", "const", "format", "description", "default", "minimum", "maximum",
                   "minLength", "maxLength", "anyOf", "allOf"}


def schemas_within(schema: dict):
    """The schema and every schema inside it."""
    yield schema
    inner = [*schema.get("properties", {}).values(), *schema.get("anyOf", []),
             *schema.get("allOf", [])]
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            inner.append(schema[key])
    for part in inner:
        yield from schemas_within(part)


def test_the_document_keeps_to_the_openapi_3_1_structure(document):
    operation_ids = [operation["operationId"] for _, _, operation in operations(document)]
    assert len(operation_ids) == len(set(operation_ids))
    for path, method, operation in operations(document):
        in_path = {p["name"] for p in operation.get("parameters", [])
                   if p["in"] == "path" and p["required"]}
        assert in_path == set(re.findall(r"\{(\w+)\}", path)), f"{method} {path}"
        assert operation["responses"], f"{method} {path}"
        for status, answer in operation["responses"].items():
            assert re.fullmatch(r"[1-5]\d\d", status) and answer["description"], status
            assert list(answer["content"]) == ["application/json"], status
    for name, schema in document["components"]["schemas"].items():
        assert re.fullmatch(r"[A-Za-z0-9._-]+", name), name
        for part in schemas_within(schema):
            assert set(part) <= SCHEMA_KEYWORDS, (name, set(part) - SCHEMA_KEYWORDS)
            assert set(part.get("required", [])) <= set(part.get("properties", {})), name


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
