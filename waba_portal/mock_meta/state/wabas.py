"""WhatsApp Business Accounts, their app subscriptions and credit line, and their businesses."""

from __future__ import annotations

import time
from typing import Any

from ..errors import GraphError, invalid_param, not_found, require
from ..models import Subscription, Token
from .auth import AuthMixin
from .base import locked
from .events import override_params
from .query import paginate, select_fields
from .serialisation import SerialisationMixin


class WabasMixin(SerialisationMixin, AuthMixin):
    @locked
    def waba_get(self, tok: Token, waba_id: str, fields: str | None) -> dict[str, Any]:
        waba = self._waba_for(tok, waba_id)
        return select_fields(
            self._waba_full(waba), fields, ["id", "name"], "WhatsAppBusinessAccount"
        )

    @locked
    def waba_update(self, tok: Token, waba_id: str, params: dict[str, Any]) -> dict[str, Any]:
        waba = self._waba_for(tok, waba_id, "whatsapp_business_management")
        if "name" in params:
            name = str(params["name"])
            if not 1 <= len(name) <= 100:
                raise invalid_param("name must be 1-100 characters")
            waba.name = name
        if "timezone_id" in params:
            waba.timezone_id = str(params["timezone_id"])
        return {"success": True}

    @locked
    def subscribed_apps_get(self, tok: Token, waba_id: str) -> dict[str, Any]:
        waba = self._waba_for(tok, waba_id)
        return {"data": self._subscriptions_list(waba)}

    @locked
    def subscribe_override(
        self, tok: Token, waba_id: str, params: dict[str, Any]
    ) -> tuple[str, str] | None:
        """Check a subscribe request; the override (URL, verify token) it asks for."""
        self._waba_for(tok, waba_id, "whatsapp_business_management")
        return override_params(params.get("override_callback_uri"), params.get("verify_token"))

    @locked
    def subscribe(self, tok: Token, waba_id: str, params: dict[str, Any]) -> dict[str, Any]:
        """Subscribe the app; an override must have passed its verification GET first."""
        waba = self._waba_for(tok, waba_id, "whatsapp_business_management")
        override = override_params(params.get("override_callback_uri"), params.get("verify_token"))
        uri, verify = override if override else (None, None)
        waba.subscriptions[self.config.app_id] = Subscription(
            app_id=self.config.app_id,
            app_name=self.config.app_name,
            override_callback_uri=uri,
            verify_token=verify,
        )
        result: dict[str, Any] = {"success": True}
        if uri:
            result["data"] = self._subscriptions_list(waba)
        return result

    @locked
    def unsubscribe(self, tok: Token, waba_id: str) -> dict[str, Any]:
        waba = self._waba_for(tok, waba_id, "whatsapp_business_management")
        waba.subscriptions.pop(self.config.app_id, None)
        return {"success": True}

    @locked
    def credit_line_attach(self, tok: Token, params: dict[str, Any]) -> dict[str, Any]:
        """Share the partner's credit line with a client WABA (solution partners only).

        ``POST /{credit_line_id}/whatsapp_credit_sharing_and_attach?waba_id&waba_currency``
        answers ``{"allocation_config_id", "waba_id"}``; a currency the line cannot be
        shared in is refused with code 100, as Meta does for unsupported currencies.
        """
        waba_id = str(require(params, "waba_id"))
        currency = str(require(params, "waba_currency")).upper()
        waba = self._waba_for(tok, waba_id)
        if currency not in self.config.credit_line_currencies:
            raise GraphError(
                100,
                f"Credit line cannot be shared in currency {currency}.",
                message="(#100) Invalid parameter",
            )
        if waba.credit_allocation_id is None:
            waba.credit_allocation_id = self._new_id()
            waba.payment_method = True
        return {"allocation_config_id": waba.credit_allocation_id, "waba_id": waba.id}

    def _business_get(self, tok: Token, business_id: str, fields: str | None) -> dict[str, Any]:
        biz = self.businesses.get(business_id)
        if biz is None:
            raise not_found(business_id)
        if (
            tok.waba_ids is not None
            and not any(
                self.wabas[w].business_id == biz.id for w in tok.waba_ids if w in self.wabas
            )
            and biz.id not in tok.business_ids
        ):
            raise GraphError(200, "No permission for this business")
        full = {
            "id": biz.id,
            "name": biz.name,
            "verification_status": biz.verification_status,
            "created_time": time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(biz.created_at)),
        }
        return select_fields(full, fields, ["id", "name"], "Business")

    business_get = locked(_business_get)

    @locked
    def business_wabas(
        self, tok: Token, business_id: str, params: dict[str, Any], url: str
    ) -> dict[str, Any]:
        self._business_get(tok, business_id, None)
        items = [
            self._waba_full(w)
            for w in self.wabas.values()
            if w.business_id == business_id and (tok.waba_ids is None or w.id in tok.waba_ids)
        ]
        selected = [
            select_fields(i, params.get("fields"), ["id", "name"], "WhatsAppBusinessAccount")
            for i in items
        ]
        return paginate(selected, params, url)
