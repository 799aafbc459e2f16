"""Lists of the REST API: cursor pagination and django-filter filtering.

:class:`CursorPage` pages by the primary key, newest first (``ordering=-id``, the
default) or oldest first (``ordering=id``): ids only grow, so a row added while a
client walks the pages never shifts a page (no row twice, none skipped), unlike
offsets. The cursor is opaque (DRF's base64 position); ``next`` and ``previous`` are
full links that keep the filters and the ordering, None at either end; ``limit`` asks
for up to :attr:`CursorPage.max_page_size` rows. A malformed cursor answers 400
``invalid_cursor``, an unknown ordering 400 with ``details.fields.ordering``.

A list view is ``ListModelMixin`` + :class:`TenantListAPIView` with a
``serializer_class``, ``queryset = Model.objects.none()`` (so the schema sees the
model; the rows come from ``get_queryset``) and a ``filterset_class`` (django-filter,
``DjangoFilterBackend`` is the default filter backend; a filter's name is the field it
filters, as the answer has it). Its answer is
``{"next": url|null, "previous": url|null, "results": [...]}``.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.utils.translation import gettext as _
from rest_framework import generics
from rest_framework.exceptions import NotFound as DRFNotFound
from rest_framework.pagination import CursorPagination

from waba_portal.api import TenantAPIView
from waba_portal.errors import Invalid

# The orderings every list offers: the only ones a cursor stays stable under.
ORDERINGS = {"-id": "newest first", "id": "oldest first"}


class CursorPage(CursorPagination):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200
    cursor_query_param = "cursor"
    ordering_query_param = "ordering"

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> Any:
        try:
            return super().paginate_queryset(queryset, request, view)
        except DRFNotFound:
            raise Invalid(
                _("The cursor is not one this list gave out: start again without it."),
                field="cursor",
                code="invalid_cursor",
            ) from None

    def get_ordering(self, request: Any, queryset: Any, view: Any) -> tuple[str, ...]:
        raw = request.query_params.get(self.ordering_query_param)
        if raw is None or raw == "":
            return (self.ordering,)
        if raw not in ORDERINGS:
            raise Invalid(
                _("ordering is “-id” (newest first) or “id” (oldest first)."),
                field=self.ordering_query_param,
            )
        return (raw,)

    def get_page_size(self, request: Any) -> int | None:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is not None and (not raw.isdigit() or int(raw) < 1):
            raise Invalid(
                _("limit is a whole number from 1 to %(max)d.") % {"max": self.max_page_size},
                field="limit",
            )
        return super().get_page_size(request)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "The position to go on from: take it from the `next` or "
                "`previous` link of the page before (opaque; do not build one).",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Rows per page, 1 to {self.max_page_size} "
                f"(default {self.page_size}; more is capped).",
                "schema": {"type": "integer", "minimum": 1},
            },
            {
                "name": self.ordering_query_param,
                "required": False,
                "in": "query",
                "description": "`-id`: newest first (the default); `id`: oldest first.",
                "schema": {"type": "string", "enum": list(ORDERINGS), "default": "-id"},
            },
        ]

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        link = {"type": ["string", "null"], "format": "uri"}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {
                "next": {**link, "description": "The next page; null on the last one."},
                "previous": {**link, "description": "The page before; null on the first."},
                "results": schema,
            },
        }


class _SchemaQueryset:
    """``queryset`` of a list view that names none: for the schema generator only.

    drf-spectacular reads a view's model from ``queryset`` (its filters and path
    parameters need it); a tenant list builds its rows in ``get_queryset``, inside the
    request's scope, which the generator has not. This answers the serializer's model,
    empty, to the generator's fake view; to a real request it answers None, so a view
    that forgot ``get_queryset`` fails loudly instead of listing nothing.
    """

    def __get__(self, view: Any, owner: type) -> Any:
        if view is not None and not getattr(view, "swagger_fake_view", False):
            return None
        meta = getattr(getattr(owner, "serializer_class", None), "Meta", None)
        model = getattr(meta, "model", None)
        return model.objects.none() if model is not None else None


class TenantListAPIView(TenantAPIView, generics.GenericAPIView):  # type: ignore[type-arg]
    """A tenant API view with a paged, filtered list (``self.paginated(queryset)``, or
    ``ListModelMixin.list`` over ``get_queryset``). Serializers get the tenant's slug
    in their context, as :meth:`TenantAPIView.context` gives it."""

    pagination_class = CursorPage
    queryset = _SchemaQueryset()  # type: ignore[assignment]

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        if getattr(self, "swagger_fake_view", False):  # the schema generator: no tenant
            return dict(context)
        return {**context, **self.context()}

    def paginated(self, queryset: Any, **serializer_kwargs: Any) -> Any:
        page = self.paginate_queryset(self.filter_queryset(queryset))
        serializer = self.get_serializer(page, many=True, **serializer_kwargs)
        return self.get_paginated_response(serializer.data)


class IdFilter(django_filters.Filter):
    """A filter by one of our ids (``?waba=12``): a whole number up to 2**63-1, else 400.

    Another workspace's id matches nothing, like a missing one (the rows are scoped)."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)
