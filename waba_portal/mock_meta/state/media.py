"""Media: uploads by number, downloads, and the resumable upload sessions behind handles."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from ..errors import GraphError, invalid_param, not_found, require
from ..models import Media, Token, UploadSession
from .auth import AuthMixin
from .base import locked
from .values import b64


class MediaMixin(AuthMixin):
    def _store_media(
        self, owner: str | None, mime: str, data: bytes, filename: str | None = None
    ) -> Media:
        media = Media(
            id=self._new_id(),
            owner_phone_id=owner,
            mime_type=mime,
            data=data,
            sha256=hashlib.sha256(data).hexdigest(),
            filename=filename,
            created_at=self._now(),
        )
        self.media[media.id] = media
        return media

    @locked
    def media_upload(
        self, tok: Token, phone_id: str, params: dict[str, Any], file: tuple[str, str, bytes] | None
    ) -> dict[str, Any]:
        phone = self._phone_for(tok, phone_id, "whatsapp_business_messaging")
        if require(params, "messaging_product") != "whatsapp":
            raise invalid_param("messaging_product must be whatsapp")
        if file is None:
            raise invalid_param("The parameter file is required.")
        filename, mime, data = file
        mime = str(params.get("type") or mime or "application/octet-stream")
        if not data:
            raise GraphError(131053, "The uploaded file is empty.")
        media = self._store_media(phone.id, mime, data, filename)
        return {"id": media.id}

    @locked
    def media_get(self, tok: Token, media_id: str, base_url: str) -> dict[str, Any]:
        media = self._media_for(tok, media_id)
        return {
            "messaging_product": "whatsapp",
            "url": f"{base_url}/whatsapp_business/attachments/?mid={media.id}"
            f"&hash={media.sha256[:16]}",
            "mime_type": media.mime_type,
            "sha256": media.sha256,
            "file_size": len(media.data),
            "id": media.id,
        }

    def _media_for(self, tok: Token, media_id: str) -> Media:
        media = self.media.get(media_id)
        if media is None:
            raise not_found(media_id)
        if media.owner_phone_id and media.owner_phone_id in self.phones:
            self._check_waba_access(tok, self.phones[media.owner_phone_id].waba_id)
        return media

    @locked
    def media_delete(self, tok: Token, media_id: str) -> dict[str, Any]:
        media = self._media_for(tok, media_id)
        del self.media[media.id]
        return {"success": True}

    @locked
    def media_download(self, tok: Token, media_id: str) -> Media:
        return self._media_for(tok, media_id)

    @locked
    def media_public(self, media_id: str) -> Media | None:
        return self.media.get(media_id)

    # What the resumable upload takes (NOTES §2, the profile picture; Meta lists these
    # types for upload sessions) and the largest file the mock keeps in memory.
    UPLOAD_TYPES = ("image/jpeg", "image/jpg", "image/png", "video/mp4", "application/pdf")
    UPLOAD_MAX_BYTES = 100 * 1024 * 1024

    @locked
    def upload_start(self, tok: Token, app_id: str, params: dict[str, Any]) -> dict[str, Any]:
        """``POST /{app-id}/uploads?file_length&file_type[&file_name]`` → ``{"id": "upload:…"}``."""
        if app_id != self.config.app_id:
            raise not_found(app_id)
        raw_length = require(params, "file_length")
        try:
            length = int(str(raw_length))
        except ValueError:
            raise invalid_param("Param file_length must be an integer") from None
        if not 0 < length <= self.UPLOAD_MAX_BYTES:
            raise invalid_param(
                f"Param file_length must be between 1 and {self.UPLOAD_MAX_BYTES} bytes"
            )
        ftype = str(require(params, "file_type"))
        if ftype not in self.UPLOAD_TYPES:
            raise invalid_param("Param file_type is not a supported type")
        session = UploadSession(
            id=self._new_id(),
            file_name=str(params.get("file_name") or "upload"),
            file_length=length,
            file_type=ftype,
        )
        self.uploads[session.id] = session
        return {"id": f"upload:{session.id}"}

    @locked
    def upload_data(self, tok: Token, session_id: str, data: bytes, offset: int) -> dict[str, Any]:
        """``POST /upload:{id}`` with ``file_offset`` and the bytes from there.

        The session is finished when ``file_length`` bytes have arrived: the answer is
        the handle ``h``; before that it says where to go on. A part sent again after
        its answer was lost (the same offset and bytes) gets the same answer.
        """
        session = self.uploads.get(session_id)
        if session is None:
            raise not_found(f"upload:{session_id}")
        if not data:
            raise invalid_param("The upload has no data")
        if offset < len(session.data) and session.data[offset : offset + len(data)] == data:
            if session.handle and offset + len(data) == len(session.data):
                return {"h": session.handle}
            return {"id": f"upload:{session.id}", "file_offset": len(session.data)}
        if offset != len(session.data):
            raise invalid_param(f"file_offset must be {len(session.data)}")
        if len(session.data) + len(data) > session.file_length:
            raise invalid_param(
                f"The upload is longer than its file_length ({session.file_length} bytes)"
            )
        session.data += data
        if len(session.data) == session.file_length:
            session.handle = (
                "4::"
                + b64(f"{session.file_type}:{session.id}".encode())
                + ":"
                + secrets.token_urlsafe(24)
            )
            self.upload_handles[session.handle] = session
            return {"h": session.handle}
        return {"id": f"upload:{session.id}", "file_offset": len(session.data)}

    @locked
    def upload_status(self, tok: Token, session_id: str) -> dict[str, Any]:
        session = self.uploads.get(session_id)
        if session is None:
            raise not_found(f"upload:{session_id}")
        return {"id": f"upload:{session.id}", "file_offset": len(session.data)}
