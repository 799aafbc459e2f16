"""OAuth code exchange, the app access token and ``debug_token``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..errors import GraphInvalidRequestError
from ..redact import redact
from ..transport import GraphTransport, drop_none


def _ts(value: Any) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return datetime.fromtimestamp(value, tz=UTC)
    return None


@dataclass(frozen=True)
class TokenInfo:
    """Parsed ``debug_token`` answer. ``waba_ids`` are the WABAs the token was granted."""

    app_id: str | None
    type: str | None
    is_valid: bool
    expires_at: datetime | None
    data_access_expires_at: datetime | None
    scopes: tuple[str, ...]
    granular_scopes: tuple[dict[str, Any], ...]
    user_id: str | None
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_response(cls, body: Mapping[str, Any]) -> TokenInfo:
        data = body.get("data")
        if not isinstance(data, dict):
            raise GraphInvalidRequestError("debug_token response has no data", http_status=200)
        return cls(
            app_id=str(data["app_id"]) if data.get("app_id") is not None else None,
            type=data.get("type"),
            is_valid=bool(data.get("is_valid")),
            expires_at=_ts(data.get("expires_at")),
            data_access_expires_at=_ts(data.get("data_access_expires_at")),
            scopes=tuple(data.get("scopes") or ()),
            granular_scopes=tuple(
                g for g in data.get("granular_scopes") or () if isinstance(g, dict)
            ),
            user_id=str(data["user_id"]) if data.get("user_id") is not None else None,
            raw=redact(dict(body)),
        )

    def target_ids(self, scope: str) -> list[str]:
        ids: list[str] = []
        for grant in self.granular_scopes:
            if grant.get("scope") == scope:
                ids.extend(str(t) for t in grant.get("target_ids") or ())
        return ids

    @property
    def waba_ids(self) -> list[str]:
        seen: dict[str, None] = {}
        for scope in ("whatsapp_business_management", "whatsapp_business_messaging"):
            for target in self.target_ids(scope):
                seen.setdefault(target, None)
        return list(seen)


class TokensMixin(GraphTransport):
    """Calls that obtain or inspect tokens; the OAuth ones need ``app_id``/``app_secret``."""

    def _require_app(self) -> tuple[str, str]:
        if not self.app_id or not self.app_secret:
            raise ValueError("This call needs app_id and app_secret")
        return self.app_id, self.app_secret

    def exchange_code(self, code: str, *, redirect_uri: str | None = None) -> dict[str, Any]:
        """Embedded Signup: exchange the short-lived OAuth code for a business token.

        ``GET /oauth/access_token?client_id&client_secret&code`` →
        ``{"access_token", "token_type"}``. Idempotent at HTTP level (a GET), but codes
        are single use: a retried exchange after a lost response fails with code 100.
        """
        app_id, app_secret = self._require_app()
        return self.request(
            "GET",
            "oauth/access_token",
            params=drop_none(
                {
                    "client_id": app_id,
                    "client_secret": app_secret,
                    "code": code,
                    "redirect_uri": redirect_uri,
                }
            ),
            token="",
            secrets=(code,),
        )

    def app_access_token(self) -> dict[str, Any]:
        """``GET /oauth/access_token?grant_type=client_credentials`` → the app token."""
        app_id, app_secret = self._require_app()
        return self.request(
            "GET",
            "oauth/access_token",
            params={
                "grant_type": "client_credentials",
                "client_id": app_id,
                "client_secret": app_secret,
            },
            token="",
        )

    def debug_token(self, input_token: str, *, token: str | None = None) -> TokenInfo:
        """Inspect a token; authenticated with ``token``, the client token, or the app
        token ``APP_ID|APP_SECRET``."""
        auth = token if token is not None else self.token
        if not auth:
            app_id, app_secret = self._require_app()
            auth = f"{app_id}|{app_secret}"
        body = self.request(
            "GET",
            "debug_token",
            params={"input_token": input_token},
            token=auth,
            secrets=(input_token,),
        )
        return TokenInfo.from_response(body)
