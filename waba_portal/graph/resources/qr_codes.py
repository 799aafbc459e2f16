"""QR codes and short links that open a chat with a prefilled message."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..transport import Fields, GraphTransport, drop_none


class QrCodesMixin(GraphTransport):
    """Calls on a phone number's ``message_qrdls`` edge."""

    def qr_codes_list(
        self, phone_number_id: str, *, fields: Fields = None, token: str | None = None
    ) -> Iterator[dict[str, Any]]:
        return self.paginate(f"{phone_number_id}/message_qrdls", fields=fields, token=token)

    def qr_code_get(
        self, phone_number_id: str, code: str, *, token: str | None = None
    ) -> dict[str, Any]:
        """One code: Meta answers it in the list's ``data`` wrapper (NOTES §10); this
        returns the code itself. A code Meta no longer has raises ``GraphNotFoundError``."""
        answer = self.get(f"{phone_number_id}/message_qrdls/{code}", token=token)
        data = answer.get("data")
        if isinstance(data, list):
            return dict(data[0]) if data else {}
        return answer

    def qr_code_create(
        self,
        phone_number_id: str,
        prefilled_message: str,
        *,
        generate_qr_image: str | None = "PNG",
        token: str | None = None,
    ) -> dict[str, Any]:
        body = drop_none(
            {"prefilled_message": prefilled_message, "generate_qr_image": generate_qr_image}
        )
        return self.post(
            f"{phone_number_id}/message_qrdls", json_body=body, token=token, idempotent=False
        )

    def qr_code_update(
        self, phone_number_id: str, code: str, prefilled_message: str, *, token: str | None = None
    ) -> dict[str, Any]:
        body = {"code": code, "prefilled_message": prefilled_message}
        return self.post(
            f"{phone_number_id}/message_qrdls", json_body=body, token=token, idempotent=True
        )

    def qr_code_delete(
        self, phone_number_id: str, code: str, *, token: str | None = None
    ) -> dict[str, Any]:
        return self._ok(self.delete(f"{phone_number_id}/message_qrdls/{code}", token=token))
