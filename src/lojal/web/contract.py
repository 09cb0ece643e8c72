"""The API's contract: the OpenAPI document says every answer lojal can give, in the shape it has.

FastAPI documents the success of each operation and, for 422, a validation body of its own
(``detail`` a list) that lojal never sends. This module shapes the document FastAPI builds so
that a client generated from it handles what the server really answers:

* **One error body**, the component ``Error`` (``lojal.web.errors.ErrorBody``:
  ``{"error": "<Code>", "detail": "...", "field"?: ..., "errors"?: [{"field", "message"}]}``),
  for every error status of every operation. FastAPI's ``HTTPValidationError`` and
  ``ValidationError`` components are gone.
* **Every status an operation can answer, derived from what its route is** (``statuses``):

  ====== ==========================================================================
  400    a domain error of none of the mapped kinds (``lojal.web.errors.status_of``)
  401    behind an API key (``lojal.web.deps.ApiKeyAuth``): no key, or not a valid one
  403    behind an API key: the key lacks the scope
  404    a path parameter names something (and the ``EXTRA`` operations)
  409    a write (a conflicting write, an ``Idempotency-Key`` still in flight), a route
         that reads the programme (``ProgramNotConfigured``), and the ``EXTRA`` ones
  413    a body over ``Settings.max_body_bytes`` (``lojal.web.limits``)
  422    a parameter or a body to validate
  429    everything under ``/api/`` (``lojal.web.limits``; the coupon guard)
  503    everything under ``/api/``: the database is busy
  ====== ==========================================================================

* **Response headers**: ``RateLimit`` and ``RateLimit-Policy`` on every ``/api/`` answer,
  ``Retry-After`` on 429 and 503, ``WWW-Authenticate`` on 401, ``Idempotent-Replayed`` on any
  answer of an operation that takes an ``Idempotency-Key`` (a replay repeats the first answer,
  whatever its status).
* **Inputs as the server takes them**: the ``Idempotency-Key`` header is 1-255 characters, not
  all blank; no text holds a NUL character (``lojal.web.storable`` refuses one anywhere in a
  request: body, keys, query, path).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from lojal.web.deps import API_PREFIX, ApiKeyAuth, get_program
from lojal.web.errors import ErrorBody, ErrorItem
from lojal.web.idempotency import MAX_KEY_LENGTH

ERROR_REF = "#/components/schemas/Error"
WRITES = frozenset(("POST", "PUT", "PATCH", "DELETE"))

REASONS: dict[int, str] = {
    400: "A domain error of no other kind",
    401: "No API key, or one that is unknown or revoked (`InvalidApiKey`)",
    403: "The API key lacks the scope this operation needs (`MissingScope`)",
    404: "What the request names does not exist",
    409: "The request conflicts with the data (the error code says how), a write made at the "
    "same time, or a request with this Idempotency-Key still in flight",
    413: "The request body is over the size limit (`PayloadTooLarge`)",
    422: "The request is not valid: `errors` lists each field and what is wrong with it "
    "(`ValidationError`), or `field` names the one that breaks a rule",
    429: "Too many requests from this API key or address (`TooManyRequests`), or too many "
    "wrong coupon codes (`TooManyAttempts`): retry after `Retry-After` seconds",
    503: "The database is busy (`Unavailable`): retry after `Retry-After` seconds",
}

# Statuses an operation answers that its route's shape does not tell: a service that finds
# something named in the body, or refuses by the state of the data. Keyed by method and path.
_API = API_PREFIX
EXTRA: dict[tuple[str, str], frozenset[int]] = {
    ("GET", f"{_API}/members"): frozenset({404}),  # no member with that identity
    ("GET", f"{_API}/till/members"): frozenset({404}),
    ("POST", f"{_API}/returns"): frozenset({404}),  # the order was not recorded
    ("GET", f"{_API}/tiers"): frozenset({409}),  # TiersNotConfigured
    ("GET", f"{_API}/members/{{member_id}}/tier"): frozenset({409}),
    # the stored insight figures: NotFitted before the first refit; the backtest: a club
    # without the programme or the history to fit on (NotEnoughHistory)
    ("GET", f"{_API}/insight/fit"): frozenset({409}),
    ("GET", f"{_API}/insight/members"): frozenset({409}),
    ("GET", f"{_API}/members/{{member_id}}/insight"): frozenset({409}),
    ("GET", f"{_API}/insight/rfm"): frozenset({409}),
    ("GET", f"{_API}/insight/clv"): frozenset({409}),
    ("GET", f"{_API}/insight/churn"): frozenset({409}),
    ("GET", f"{_API}/insight/top"): frozenset({409}),
    ("GET", f"{_API}/insight/backtest"): frozenset({409}),
    # the club's time zone (ProgramNotConfigured); the evaluation: NotEnoughHistory
    ("GET", f"{_API}/members/{{member_id}}/recommendations"): frozenset({409}),
    ("GET", f"{_API}/insight/recommendations/evaluation"): frozenset({409}),
}

# No text in a request may hold a NUL character (lojal.web.storable).
NO_NUL = "^[^\\u0000]*$"

_TEXT = {"type": "string"}
HEADERS: dict[str, dict[str, Any]] = {
    "RateLimit": {
        "description": "The quota closest to its limit: its policy, the requests left (`r`) "
        'and the seconds until it resets (`t`), e.g. `"key";r=59812;t=37` '
        "(draft-ietf-httpapi-ratelimit-headers-09)",
        "schema": _TEXT,
    },
    "RateLimit-Policy": {
        "description": 'The quotas, e.g. `"key";q=60000;w=60, "address";q=60000;w=60`',
        "schema": _TEXT,
    },
    "Retry-After": {
        "description": "Seconds to wait before retrying",
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
    "WWW-Authenticate": {"description": "`Bearer`", "schema": _TEXT},
    "Idempotent-Replayed": {
        "description": "`true` when this is the first answer to this Idempotency-Key again",
        "schema": {"type": "string", "enum": ["true"]},
    },
}


def install(app: FastAPI) -> None:
    """Serve the shaped document at the app's ``openapi_url`` (built once, on first use)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = shape(build(), app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def shape(document: dict[str, Any], app: FastAPI) -> dict[str, Any]:
    """Shape FastAPI's ``document`` of ``app`` in place (see the module doc) and return it."""
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["ErrorItem"] = ErrorItem.model_json_schema()
    error = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    error.pop("$defs", None)
    for prop in error["properties"].values():
        prop.pop("default", None)  # absent, never null
    schemas["Error"] = error
    document["components"]["headers"] = copy.deepcopy(HEADERS)
    for route in app.routes:
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        for method in sorted(route.methods or ()):
            operation = document["paths"][route.path_format][method.lower()]
            _shape_operation(operation, method, route)
    # Inputs only: an error's detail and fields may quote what the request held.
    for name, schema in schemas.items():
        if name not in ("Error", "ErrorItem"):
            for node in _schemas(schema):
                _no_nul(node)
    for operation in _operations(document):
        for node in _schemas(operation.get("parameters", [])):
            _no_nul(node)
    return document


def statuses(method: str, route: APIRoute) -> set[int]:
    """The error statuses the route can answer (see the module doc)."""
    calls = set(_calls(route.dependant))
    under_api = route.path_format.startswith(API_PREFIX + "/")
    found: set[int] = {400, 429, 503} if under_api else set()
    if any(isinstance(call, ApiKeyAuth) for call in calls):
        found |= {401, 403}
    if route.dependant.path_params:
        found.add(404)
    if method in WRITES or _idempotent(route) or get_program in calls:
        found.add(409)
    if route.body_field is not None:
        found |= {413, 422}
    if route.dependant.path_params or route.dependant.query_params or route.dependant.header_params:
        found.add(422)
    return found | EXTRA.get((method, route.path_format), frozenset())


def _shape_operation(operation: dict[str, Any], method: str, route: APIRoute) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    success = _success_content(responses)
    for code in list(responses):
        if code.startswith("2") and "content" not in responses[code] and success is not None:
            responses[code]["content"] = success
    for status in sorted(statuses(method, route)):
        response = responses.setdefault(str(status), {})
        if response.get("description") in (None, "Validation Error"):
            response["description"] = REASONS[status]
    ordered = dict(sorted(responses.items()))
    responses.clear()
    responses.update(ordered)
    for code, response in responses.items():
        if int(code) >= 400:
            response["content"] = {"application/json": {"schema": {"$ref": ERROR_REF}}}
    idempotent = _idempotent(route)
    under_api = route.path_format.startswith(API_PREFIX + "/")
    for code, response in responses.items():
        names = [
            *(("RateLimit", "RateLimit-Policy") if under_api else ()),
            *(("Retry-After",) if code in ("429", "503") else ()),
            *(("WWW-Authenticate",) if code == "401" else ()),
            *(("Idempotent-Replayed",) if idempotent else ()),
        ]
        headers: dict[str, Any] = response.setdefault("headers", {})
        headers.update((name, {"$ref": f"#/components/headers/{name}"}) for name in names)
        if not headers:
            del response["headers"]
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "header" and parameter.get("name") == "Idempotency-Key":
            description = parameter.get("description")
            parameter["schema"] = {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_KEY_LENGTH,
                "pattern": "\\S",  # not all blank: the key is taken without surrounding spaces
                "description": description,
            }


def _success_content(responses: dict[str, Any]) -> Any:
    for code in sorted(responses):
        if code.startswith("2") and "content" in responses[code]:
            return responses[code]["content"]
    return None


def _idempotent(route: APIRoute) -> bool:
    return any(p.alias == "Idempotency-Key" for p in _header_params(route.dependant))


def _header_params(dependant: Dependant) -> Iterator[Any]:
    yield from dependant.header_params
    for sub in dependant.dependencies:
        yield from _header_params(sub)


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _operations(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for item in document["paths"].values():
        for method, operation in item.items():
            if method in ("get", "put", "post", "delete", "patch", "head", "options", "trace"):
                yield operation


def _schemas(document: Any) -> Iterator[dict[str, Any]]:
    """Every schema object in the document, nested ones included."""
    stack: list[Any] = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "type" in node or "additionalProperties" in node:
                yield node
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _no_nul(schema: dict[str, Any]) -> None:
    """A text with no pattern, format or fixed values holds no NUL; nor does a key of a map."""
    if schema.get("type") == "string" and not (
        {"pattern", "format", "enum", "const"} & schema.keys()
    ):
        schema["pattern"] = NO_NUL
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict) or extra is True:
        schema.setdefault("propertyNames", {"pattern": NO_NUL})
