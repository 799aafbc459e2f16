"""The business profile shown in WhatsApp: about, address, websites, picture."""

from __future__ import annotations

from typing import Any

from ..transport import Fields, drop_none
from .media import MediaMixin


class BusinessProfileMixin(MediaMixin):
    """Calls on ``/{phone}/whatsapp_business_profile``; the picture goes by resumable
    upload, hence the media base."""

    PROFILE_FIELDS: tuple[str, ...] = (
        "about",
        "address",
        "description",
        "email",
        "profile_picture_url",
        "websites",
        "vertical",
        "messaging_product",
    )

    def business_profile_get(
        self, phone_number_id: str, *, fields: Fields = None, token: str | None = None
    ) -> dict[str, Any]:
        """The business profile, flat (``data[0]``; the spec's ``business_profile``
        wrapper is unwrapped too)."""
        body = self.get(
            f"{phone_number_id}/whatsapp_business_profile",
            fields=fields if fields is not None else self.PROFILE_FIELDS,
            token=token,
        )
        data = body.get("data")
        first = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else {}
        wrapped = first.get("business_profile")
        if isinstance(wrapped, dict):
            return {**{k: v for k, v in first.items() if k != "business_profile"}, **wrapped}
        return first

    def business_profile_update(
        self,
        phone_number_id: str,
        *,
        about: str | None = None,
        address: str | None = None,
        description: str | None = None,
        email: str | None = None,
        websites: list[str] | None = None,
        vertical: str | None = None,
        profile_picture_handle: str | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        body = drop_none(
            {
                "messaging_product": "whatsapp",
                "about": about,
                "address": address,
                "description": description,
                "email": email,
                "websites": websites,
                "vertical": vertical,
                "profile_picture_handle": profile_picture_handle,
            }
        )
        return self._ok(
            self.post(
                f"{phone_number_id}/whatsapp_business_profile",
                json_body=body,
                token=token,
                idempotent=True,
            )
        )

    def upload_profile_picture(
        self,
        phone_number_id: str,
        data: bytes,
        mime_type: str,
        *,
        file_name: str | None = None,
        token: str | None = None,
    ) -> str:
        """Upload a profile picture and set it on the business profile; returns the handle."""
        handle = self.resumable_upload(data, mime_type, file_name=file_name, token=token)
        self.business_profile_update(phone_number_id, profile_picture_handle=handle, token=token)
        return handle
