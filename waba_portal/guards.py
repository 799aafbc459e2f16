"""Input the database cannot hold is refused at the door, in one place for each kind.

Two kinds of input made a query fail where the answer should be "invalid" or "not
found", and so answered 500:

- **Text with a NUL character** (``\\x00``), which PostgreSQL's text types cannot hold
  (the driver refuses the whole query), or with half of a UTF-16 surrogate pair, which
  is no character at all and cannot be written as UTF-8 for either database.
  :class:`UnstorableTextMiddleware` refuses a request that carries such text anywhere a
  client puts text: the path, the query string, a header or a cookie (HTTP itself
  forbids NUL in header fields, RFC 9110 section 5.5; a session cookie with one was
  looked up as it came), a form field, or a body that parses as JSON
  (views parse bodies as JSON whatever their declared type). Pages get the 400 page,
  the API and JSON requests ``error_body()`` with the code ``unstorable_text``.
- **An id beyond a 64-bit integer**: SQLite refuses to bind it (``OverflowError``; the
  staff replay of a 30-digit id answered 500), PostgreSQL merely finds nothing. URL
  patterns take primary keys with the ``<id:...>`` converter (:class:`IdConverter`),
  which does not match such a number, so the URL answers 404 like any URL that does not
  exist; ids from forms and query strings are read with :func:`parse_id`. The converter
  is registered here, once; a URL conf that uses ``<id:...>`` imports this module, so
  it is registered before its patterns are built.

The one request the middleware leaves alone is Meta's webhook POST (``webhooks:meta``):
the WSGI intake answers it before Django runs (``waba_portal/webhooks/intake.py``), and
refusing here what the intake takes would make ASGI and the test client disagree with
production. Nothing of it is stored as text: the raw body is kept as bytes, and JSON
carries a NUL only escaped (``\\u0000``).

The middleware sits right after ``LocaleMiddleware``: the 400 page is in the request's
language, and nothing has looked at the session or the user yet, which a cookie being
refused would break (so the page is rendered as for someone not signed in).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import render
from django.urls import register_converter, reverse
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _

from waba_portal.errors import Invalid
from waba_portal.middleware import wants_json

# --- Ids -------------------------------------------------------------------------------

#: The largest primary key: a signed 64-bit integer (PostgreSQL's bigint, SQLite's INTEGER).
MAX_ID = 2**63 - 1


class IdConverter:
    """``<id:name>``: a primary key, 1 to 19 ASCII digits, at most :data:`MAX_ID`.

    A larger number does not match (``to_python`` raises ``ValueError``), so the URL
    answers 404 before any view or query runs.
    """

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_ID:
            raise ValueError(f"{value} is beyond the largest id")
        return number

    def to_url(self, value: int | str) -> str:
        number = parse_id(str(value))
        if number is None:
            raise ValueError(f"{value!r} is not an id")  # reverse() answers NoReverseMatch
        return str(number)


_ID = re.compile(IdConverter.regex)


def parse_id(value: str | None) -> int | None:
    """``value`` (from a form or a query string) as a primary key, else None.

    Only ASCII digits count (``str.isdigit`` also takes "²", which ``int`` refuses) and
    only up to :data:`MAX_ID`, so the id reaches a query on either database.
    """
    if value is None or not _ID.fullmatch(value):
        return None
    number = int(value)
    return number if number <= MAX_ID else None


register_converter(IdConverter, "id")


# --- Text ------------------------------------------------------------------------------

# NUL, and the surrogates U+D800..U+DFFF: a str holds one alone only when decoding let
# it through (json.loads reads "\ud800", and raw bytes with "surrogatepass").
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def is_unstorable(text: str) -> bool:
    """Whether ``text`` has a character that neither database can store."""
    return _UNSTORABLE.search(text) is not None


def storable(document: Any) -> Any:
    """``document`` (parsed JSON) with every unstorable character replaced by U+FFFD.

    For data we must keep rather than refuse, such as a webhook Meta already sent: its
    text is stored and shown with a replacement character where the NUL was.
    """
    if isinstance(document, str):
        return _UNSTORABLE.sub("\ufffd", document)
    if isinstance(document, list):
        return [storable(item) for item in document]
    if isinstance(document, dict):
        return {storable(key): storable(value) for key, value in document.items()}
    return document


class UnstorableTextMiddleware:
    """Refuses a request with text the database cannot store (see the module's docstring)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _is_webhook_post(request):
            return self.get_response(request)
        try:
            where = _where_unstorable(request)
        except _NestedTooDeep:
            return _too_deep(request)
        if where is not None:
            return refusal(request, where)
        return self.get_response(request)


class _NestedTooDeep(Exception):
    """A JSON body nested deeper than Python's parsers (ours, DRF's) can read."""


def _too_deep(request: HttpRequest) -> HttpResponse:
    error = Invalid(
        _("The JSON in the request is nested too deeply to be read. Send a flatter document."),
        code="json_too_deep",
        details={"in": "json"},
    )
    return JsonResponse(error.body(), status=error.status)


def refusal(request: HttpRequest, where: str) -> HttpResponse:
    """The 400 answer for a request with unstorable text in ``where`` (path, query, ...)."""
    error = Invalid(
        _(
            "The request contains a character that cannot be stored, such as a null "
            "character. Remove it and try again."
        ),
        code="unstorable_text",
        details={"in": where},
    )
    if where == "json" or request.path.startswith("/api/") or wants_json(request):
        return JsonResponse(error.body(), status=error.status)
    return render(request, "400.html", {"exception": error.message}, status=error.status)


def _is_webhook_post(request: HttpRequest) -> bool:
    return request.method == "POST" and request.path == reverse("webhooks:meta")


def _where_unstorable(request: HttpRequest) -> str | None:
    """The first part of the request that carries unstorable text, or None."""
    return next((where for where, text in _texts(request) if is_unstorable(text)), None)


def _texts(request: HttpRequest) -> Iterator[tuple[str, str]]:
    """Every text a client put into the request, with where it is, cheapest first."""
    yield "path", request.path
    yield from (("query", text) for text in _query_dict_texts(request.GET))
    yield from (("header", text) for text in _header_texts(request))
    yield from (("cookie", text) for item in request.COOKIES.items() for text in item)
    yield from (("form", text) for text in _form_texts(request))
    yield from (("json", text) for text in _json_texts(request))


def _query_dict_texts(data: QueryDict) -> Iterator[str]:
    for key, values in data.lists():
        yield key
        yield from values


def _header_texts(request: HttpRequest) -> Iterator[str]:
    for key, value in request.META.items():
        if key.startswith("HTTP_") or key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            yield str(value)


def _form_texts(request: HttpRequest) -> Iterator[str]:
    if request.content_type not in _FORM_TYPES:
        return
    data: QueryDict
    files: MultiValueDict[str, Any]
    if request.method == "POST":
        data, files = request.POST, request.FILES
    elif request.content_type == "multipart/form-data":
        data, files = request.parse_file_upload(request.META, io.BytesIO(request.body))
    else:
        data, files = QueryDict(request.body, encoding=request.encoding), MultiValueDict()
    yield from _query_dict_texts(data)
    yield from files.keys()  # Django's parser already drops a NUL from a file's name


def _json_texts(request: HttpRequest) -> Iterator[str]:
    if request.content_type in _FORM_TYPES or not request.body:
        return
    try:
        document = json.loads(request.body)
    except RecursionError as exc:
        raise _NestedTooDeep from exc  # every view would answer 500: refused here, once
    except ValueError:
        return  # not JSON: the view that reads it refuses it as it always did
    # Walked without recursion: json.loads nests deeper than this stack may.
    pending = [document]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            yield from item.keys()
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
