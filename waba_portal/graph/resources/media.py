"""Media: Cloud API media for messages, and Meta's resumable upload for handles."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ..errors import GraphInvalidRequestError
from ..transport import GraphTransport, drop_none


class MediaMixin(GraphTransport):
    """Media ids (``/{phone}/media``, ``/{media-id}``) and upload handles (``/{app}/uploads``)."""

    # Hosts Meta serves media from; the token is sent to these (and our base URL) only.
    MEDIA_HOST_SUFFIXES = (".fbsbx.com", ".facebook.com", ".fbcdn.net", ".whatsapp.net")

    def media_upload(
        self,
        phone_number_id: str,
        data: bytes,
        mime_type: str,
        *,
        filename: str = "file",
        token: str | None = None,
    ) -> str:
        """Upload media for sending; returns the media id. Not idempotent."""
        body = self.post(
            f"{phone_number_id}/media",
            data={"messaging_product": "whatsapp", "type": mime_type},
            files={"file": (filename, data, mime_type)},
            token=token,
            idempotent=False,
        )
        media_id = body.get("id")
        if not media_id:
            raise GraphInvalidRequestError("Media upload response has no id", raw=body)
        return str(media_id)

    def media_get(
        self, media_id: str, *, phone_number_id: str | None = None, token: str | None = None
    ) -> dict[str, Any]:
        """Media metadata: ``{url, mime_type, sha256, file_size, id}``; the URL is short-lived."""
        return self.get(
            media_id, params=drop_none({"phone_number_id": phone_number_id}), token=token
        )

    def media_download(self, url: str, *, token: str | None = None) -> bytes:
        """Download media bytes from the URL ``media_get`` returned (token required).

        The URL comes from Meta's answer, but it is still checked: the access token is
        only ever sent to Meta's media hosts or the configured Graph host.
        """
        parsed = urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError("media_download needs an absolute URL")
        host = parsed.hostname.lower()
        own = urlsplit(self.base_url).hostname
        if host != own and not host.endswith(self.MEDIA_HOST_SUFFIXES):
            raise ValueError(f"refusing to send the access token to {host}")
        if host != own and parsed.scheme != "https":
            raise ValueError(f"refusing to send the access token to {host} without TLS")
        return self.request_raw("GET", url, token=token).content

    def media_delete(
        self, media_id: str, *, phone_number_id: str | None = None, token: str | None = None
    ) -> dict[str, Any]:
        return self._ok(
            self.delete(
                media_id, params=drop_none({"phone_number_id": phone_number_id}), token=token
            )
        )

    def resumable_upload(
        self,
        data: bytes,
        mime_type: str,
        *,
        file_name: str | None = None,
        token: str | None = None,
    ) -> str:
        """Upload a file with Meta's Resumable Upload API and return its handle (``h``).

        1. ``POST /{app-id}/uploads?file_length&file_type[&file_name]`` →
           ``{"id": "upload:…"}``
        2. ``POST /{upload-session}`` with ``Authorization: OAuth <token>``,
           ``file_offset: 0`` and the bytes → ``{"h": "<handle>"}``
        """
        if not self.app_id:
            raise ValueError("resumable_upload needs app_id")
        session = self.post(
            f"{self.app_id}/uploads",
            params=drop_none(
                {"file_length": len(data), "file_type": mime_type, "file_name": file_name}
            ),
            token=token,
            idempotent=True,
        )
        upload_id = session.get("id")
        if not isinstance(upload_id, str) or not upload_id:
            raise GraphInvalidRequestError("Upload session response has no id", raw=session)
        result = self.post(
            upload_id,
            data=data,
            headers={"file_offset": "0", "Content-Type": "application/octet-stream"},
            token=token,
            auth_scheme="OAuth",
            idempotent=True,
        )
        handle = result.get("h")
        if not isinstance(handle, str) or not handle:
            raise GraphInvalidRequestError("Upload response has no handle", raw=result)
        return handle
