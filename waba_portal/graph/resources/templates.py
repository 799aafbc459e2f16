"""Message templates of a WABA: listing, reading, submitting, editing, deleting."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..transport import Fields, GraphTransport, drop_none


class TemplatesMixin(GraphTransport):
    """Calls on a WABA's ``message_templates`` edge and on a template node."""

    def templates_list(
        self,
        waba_id: str,
        *,
        fields: Fields = None,
        limit: int | None = None,
        token: str | None = None,
        **filters: Any,
    ) -> Iterator[dict[str, Any]]:
        """Every template of the WABA, across pages; ``filters`` are query parameters
        such as ``name``, ``status``, ``category``, ``language``."""
        return self.paginate(
            f"{waba_id}/message_templates",
            params=drop_none(filters),
            fields=fields,
            limit=limit,
            token=token,
        )

    def template_get(
        self, template_id: str, *, fields: Fields = None, token: str | None = None
    ) -> dict[str, Any]:
        return self.get(template_id, fields=fields, token=token)

    def template_create(
        self,
        waba_id: str,
        *,
        name: str,
        language: str,
        category: str,
        components: list[dict[str, Any]],
        parameter_format: str | None = None,
        message_send_ttl_seconds: int | None = None,
        allow_category_change: bool | None = None,
        token: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Submit a template for review → ``{"id", "status", "category"}``. Not idempotent."""
        body = drop_none(
            {
                "name": name,
                "language": language,
                "category": category,
                "components": components,
                "parameter_format": parameter_format,
                "message_send_ttl_seconds": message_send_ttl_seconds,
                "allow_category_change": allow_category_change,
                **extra,
            }
        )
        return self.post(
            f"{waba_id}/message_templates", json_body=body, token=token, idempotent=False
        )

    def template_edit(
        self,
        template_id: str,
        *,
        components: list[dict[str, Any]] | None = None,
        category: str | None = None,
        message_send_ttl_seconds: int | None = None,
        token: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        body = drop_none(
            {
                "components": components,
                "category": category,
                "message_send_ttl_seconds": message_send_ttl_seconds,
                **extra,
            }
        )
        if not body:
            raise ValueError("template_edit needs at least one field")
        return self._ok(self.post(template_id, json_body=body, token=token, idempotent=False))

    def template_delete(
        self,
        waba_id: str,
        name: str,
        *,
        hsm_id: str | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        """Delete all languages of ``name``, or only template ``hsm_id``."""
        return self._ok(
            self.delete(
                f"{waba_id}/message_templates",
                params=drop_none({"name": name, "hsm_id": hsm_id}),
                token=token,
            )
        )
