"""Phone numbers: listing, adding, verification codes, registration, the green check."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ..transport import Fields, GraphTransport, drop_none


class PhoneNumbersMixin(GraphTransport):
    """Calls on a WABA's ``phone_numbers`` edge and on a phone number node."""

    # What the portal keeps of a number; ``phone_number_get`` and ``phone_numbers_list``
    # ask for these unless told otherwise.
    PHONE_FIELDS: tuple[str, ...] = (
        "id",
        "display_phone_number",
        "verified_name",
        "status",
        "quality_rating",
        "name_status",
        # A display-name change under review: the name asked for and Meta's decision on
        # it (``name_status`` stays that of the current name meanwhile).
        "new_display_name",
        "new_name_status",
        "code_verification_status",
        "platform_type",
        "throughput",
        "is_official_business_account",
        "whatsapp_business_manager_messaging_limit",
        "messaging_limit_tier",
    )
    OBA_FIELDS: tuple[str, ...] = ("oba_status", "status_message")

    def phone_numbers_list(
        self,
        waba_id: str,
        *,
        fields: Fields = None,
        limit: int | None = None,
        filtering: list[dict[str, Any]] | None = None,
        sort: str | None = None,
        token: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every phone number of the WABA, across all pages, with ``fields`` (default
        :attr:`PHONE_FIELDS`; ``()`` for Meta's own set)."""
        return self.paginate(
            f"{waba_id}/phone_numbers",
            params=drop_none({"filtering": filtering, "sort": sort}),
            fields=fields if fields is not None else self.PHONE_FIELDS,
            limit=limit,
            token=token,
        )

    def phone_number_add(
        self,
        waba_id: str,
        *,
        cc: str,
        phone_number: str,
        verified_name: str,
        token: str | None = None,
    ) -> dict[str, Any]:
        """Add a number to the WABA → ``{"id": "<PHONE_NUMBER_ID>"}``. Not idempotent."""
        body = {"cc": cc, "phone_number": phone_number, "verified_name": verified_name}
        return self.post(f"{waba_id}/phone_numbers", json_body=body, token=token, idempotent=False)

    def phone_number_get(
        self, phone_number_id: str, *, fields: Fields = None, token: str | None = None
    ) -> dict[str, Any]:
        """The number's ``fields`` (default :attr:`PHONE_FIELDS`; ``()`` for Meta's own set)."""
        return self.get(
            phone_number_id,
            fields=fields if fields is not None else self.PHONE_FIELDS,
            token=token,
        )

    def phone_number_update(
        self,
        phone_number_id: str,
        *,
        pin: str | None = None,
        new_display_name: str | None = None,
        token: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Set the two-step PIN and/or request a display-name change (and other fields of
        ``updatePhoneNumberStatus`` via ``extra``)."""
        body = drop_none({"pin": pin, "new_display_name": new_display_name, **extra})
        if not body:
            raise ValueError("phone_number_update needs at least one field")
        return self._ok(
            self.post(
                phone_number_id,
                json_body=body,
                token=token,
                idempotent=False,
                secrets=(pin,) if pin else (),
            )
        )

    # ------------------------------------------------------------------ verification

    def request_code(
        self,
        phone_number_id: str,
        *,
        code_method: str = "SMS",
        language: str = "en_US",
        token: str | None = None,
    ) -> dict[str, Any]:
        """Ask Meta to send a 6-digit code by ``SMS`` or ``VOICE``. Not idempotent."""
        if code_method not in ("SMS", "VOICE"):
            raise ValueError("code_method must be 'SMS' or 'VOICE'")
        return self._ok(
            self.post(
                f"{phone_number_id}/request_code",
                json_body={"code_method": code_method, "language": language},
                token=token,
                idempotent=False,
            )
        )

    def verify_code(
        self, phone_number_id: str, code: str, *, token: str | None = None
    ) -> dict[str, Any]:
        """Confirm the code received by SMS/voice. Not idempotent (codes are single use)."""
        return self._ok(
            self.post(
                f"{phone_number_id}/verify_code",
                json_body={"code": code},
                token=token,
                idempotent=False,
                secrets=(code,),
            )
        )

    # ------------------------------------------------------------------ registration

    def register(
        self,
        phone_number_id: str,
        pin: str,
        *,
        data_localization_region: str | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        """Register the number on Cloud API with its two-step PIN. Not idempotent: each
        call counts toward 10 per 72 h (133016)."""
        body = drop_none(
            {
                "messaging_product": "whatsapp",
                "pin": pin,
                "data_localization_region": data_localization_region,
            }
        )
        return self._ok(
            self.post(
                f"{phone_number_id}/register",
                json_body=body,
                token=token,
                idempotent=False,
                secrets=(pin,),
            )
        )

    def deregister(self, phone_number_id: str, *, token: str | None = None) -> dict[str, Any]:
        return self._ok(self.post(f"{phone_number_id}/deregister", token=token, idempotent=False))

    # ------------------------------------------------------------------ green check (OBA)

    def official_business_account_get(
        self, phone_number_id: str, *, fields: Fields = None, token: str | None = None
    ) -> dict[str, Any]:
        return self.get(
            f"{phone_number_id}/official_business_account",
            fields=fields if fields is not None else self.OBA_FIELDS,
            token=token,
        )

    def official_business_account_request(
        self,
        phone_number_id: str,
        *,
        action: str = "SUBMIT_APPLICATION",
        application_data: Mapping[str, Any] | None = None,
        token: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Request (or withdraw/resubmit) the green check. The spec's body is
        ``{action, application_data}``; Meta's real fields may be passed via ``extra``."""
        body = drop_none(
            {
                "action": action,
                "application_data": dict(application_data) if application_data else None,
                **extra,
            }
        )
        return self.post(
            f"{phone_number_id}/official_business_account",
            json_body=body,
            token=token,
            idempotent=False,
        )
