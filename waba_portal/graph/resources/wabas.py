"""WhatsApp Business Accounts: details, webhook subscription, credit line, health."""

from __future__ import annotations

from typing import Any

from ..transport import Fields, GraphTransport, drop_none


class WabasMixin(GraphTransport):
    """Calls on a WABA node and its ``subscribed_apps`` edge."""

    # What the portal keeps of a WABA; ``waba_get`` asks for these unless told otherwise.
    WABA_FIELDS: tuple[str, ...] = (
        "id",
        "name",
        "currency",
        "timezone_id",
        "country",
        "ownership_type",
        "account_review_status",
        "business_verification_status",
        "status",
        "health_status",
        "whatsapp_business_manager_messaging_limit",
        "messaging_limit_tier",
        "owner_business_info",
    )

    def waba_get(
        self, waba_id: str, *, fields: Fields = None, token: str | None = None
    ) -> dict[str, Any]:
        """The WABA's ``fields`` (default :attr:`WABA_FIELDS`; ``()`` for Meta's own set)."""
        return self.get(
            waba_id, fields=fields if fields is not None else self.WABA_FIELDS, token=token
        )

    def waba_update(
        self,
        waba_id: str,
        *,
        name: str | None = None,
        timezone_id: str | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        body = drop_none({"name": name, "timezone_id": timezone_id})
        return self._ok(self.post(waba_id, json_body=body, token=token, idempotent=True))

    def subscribed_apps_list(
        self, waba_id: str, *, token: str | None = None
    ) -> list[dict[str, Any]]:
        """Apps subscribed to the WABA's webhooks (items usually wrap
        ``whatsapp_business_api_data``)."""
        return list(self.paginate(f"{waba_id}/subscribed_apps", token=token))

    def subscribed_apps_subscribe(
        self,
        waba_id: str,
        *,
        override_callback_uri: str | None = None,
        verify_token: str | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        body = drop_none(
            {"override_callback_uri": override_callback_uri, "verify_token": verify_token}
        )
        return self._ok(
            self.post(
                f"{waba_id}/subscribed_apps",
                json_body=body or None,
                token=token,
                idempotent=True,
                secrets=(verify_token,) if verify_token else (),
            )
        )

    def subscribed_apps_unsubscribe(
        self, waba_id: str, *, token: str | None = None
    ) -> dict[str, Any]:
        return self._ok(self.delete(f"{waba_id}/subscribed_apps", token=token))

    def credit_line_attach(
        self, credit_line_id: str, waba_id: str, currency: str, *, token: str | None = None
    ) -> dict[str, Any]:
        """Solution partners: share the extended credit line with a client WABA.

        ``POST /{credit_line_id}/whatsapp_credit_sharing_and_attach`` with ``waba_id`` and
        ``waba_currency`` in the query → ``{"allocation_config_id", "waba_id"}``. Meta
        answers with the same allocation when it is attached already, so it is retried.
        """
        return self.post(
            f"{credit_line_id}/whatsapp_credit_sharing_and_attach",
            query_body={"waba_id": waba_id, "waba_currency": currency},
            token=token,
            idempotent=True,
        )

    def health_status(self, node_id: str, *, token: str | None = None) -> dict[str, Any]:
        """``health_status`` of a WABA, phone number or template node."""
        body = self.get(node_id, fields="health_status", token=token)
        health = body.get("health_status")
        return health if isinstance(health, dict) else {}
