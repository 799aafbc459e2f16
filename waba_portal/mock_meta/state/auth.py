"""Access tokens, OAuth codes and the access check every Graph call goes through."""

from __future__ import annotations

import secrets
import time
from typing import Any

from ..errors import GraphError, not_found, require
from ..models import OAuthCode, PhoneNumber, Token, Waba
from .base import StateBase, locked

SCOPES_ALL = ["whatsapp_business_management", "whatsapp_business_messaging", "business_management"]


class AuthMixin(StateBase):
    def _issue_token(
        self,
        *,
        kind: str = "SYSTEM_USER",
        waba_ids: list[str] | None = None,
        business_ids: list[str] | None = None,
        scopes: list[str] | None = None,
        expires_in: float | None = None,
        token: str | None = None,
        revoked: bool = False,
    ) -> Token:
        value = token or "EAA" + secrets.token_urlsafe(48).replace("-", "A").replace("_", "B")
        tok = Token(
            token=value,
            kind=kind,
            app_id=self.config.app_id,
            user_id=self._new_id(),
            scopes=list(scopes or SCOPES_ALL),
            waba_ids=None if waba_ids is None else list(waba_ids),
            business_ids=list(business_ids or []),
            expires_at=None if expires_in is None else self._now() + float(expires_in),
            revoked=revoked,
            issued_at=self._now(),
        )
        self.tokens[value] = tok
        return tok

    issue_token = locked(_issue_token)

    @locked
    def authenticate(self, raw: str | None) -> Token:
        if not raw:
            raise GraphError(104, "An access token is required to request this resource.")
        app_pair = f"{self.config.app_id}|{self.config.app_secret}"
        if raw == app_pair:
            return Token(raw, "APP", self.config.app_id, "", [], [], [])
        tok = self.tokens.get(raw)
        if tok is None:
            raise GraphError(190)
        if tok.revoked:
            raise GraphError(
                190,
                subcode=tok.revoke_subcode,
                message="Error validating access token: The session has been invalidated "
                "because the user changed their password or Facebook has changed the "
                "session for security reasons.",
            )
        if tok.expires_at is not None and tok.expires_at <= self._now():
            when = time.strftime("%A, %d-%b-%y %H:%M:%S UTC", time.gmtime(tok.expires_at))
            raise GraphError(
                190,
                subcode=463,
                message=f"Error validating access token: Session has expired on {when}.",
            )
        return tok

    def _check_waba_access(self, tok: Token, waba_id: str, scope: str | None = None) -> None:
        if tok.kind == "APP":
            raise GraphError(200, "An app access token cannot access WhatsApp Business Accounts")
        if tok.waba_ids is not None and waba_id not in tok.waba_ids:
            raise GraphError(
                200,
                "The access token does not have permission to access this "
                "WhatsApp Business Account",
                message="(#200) Permissions error",
            )
        if scope and scope not in tok.scopes:
            raise GraphError(
                200, f"Missing permission {scope}", message=f"(#200) Requires {scope} permission"
            )

    def _waba_for(self, tok: Token, waba_id: str, scope: str | None = None) -> Waba:
        waba = self.wabas.get(waba_id)
        if waba is None:
            raise not_found(waba_id)
        self._check_waba_access(tok, waba_id, scope)
        return waba

    def _phone_for(self, tok: Token, phone_id: str, scope: str | None = None) -> PhoneNumber:
        phone = self.phones.get(phone_id)
        if phone is None:
            raise not_found(phone_id)
        self._check_waba_access(tok, phone.waba_id, scope)
        return phone

    @locked
    def node_kind(self, node_id: str) -> str | None:
        for kind, table in (
            ("waba", self.wabas),
            ("phone", self.phones),
            ("template", self.templates),
            ("media", self.media),
            ("business", self.businesses),
        ):
            if node_id in table:
                return kind
        if node_id == self.config.app_id:
            return "app"
        if node_id == self.config.credit_line_id:
            return "credit_line"
        return None

    @locked
    def waba_of_node(self, node_id: str) -> str | None:
        if node_id in self.wabas:
            return node_id
        if node_id in self.phones:
            return self.phones[node_id].waba_id
        if node_id in self.templates:
            return self.templates[node_id].waba_id
        return None

    @locked
    def exchange_code(self, params: dict[str, Any]) -> dict[str, Any]:
        client_id = str(require(params, "client_id"))
        if client_id != self.config.app_id:
            raise GraphError(
                101,
                "Error validating application. Invalid application ID.",
                message="Error validating application. Invalid application ID.",
            )
        secret = str(require(params, "client_secret"))
        if not secrets.compare_digest(secret, self.config.app_secret):
            raise GraphError(
                1,
                "Error validating client secret.",
                message="Error validating client secret.",
                is_transient=False,
            )
        if params.get("grant_type") == "client_credentials":
            tok = self._issue_token(kind="APP", waba_ids=[], scopes=[])
            return {"access_token": tok.token, "token_type": "bearer"}
        code = str(require(params, "code"))
        entry = self.oauth_codes.get(code)
        if entry is None:
            raise GraphError(100, subcode=36008, message="Invalid verification code format.")
        if entry.used:
            raise GraphError(100, subcode=36009, message="This authorization code has been used.")
        if entry.issued_at + self.config.oauth_code_ttl < self._now():
            raise GraphError(100, subcode=36007, message="This authorization code has expired.")
        entry.used = True
        return {"access_token": entry.token, "token_type": "bearer"}

    def _issue_oauth_code(self, token: str) -> str:
        code = "AQ" + secrets.token_urlsafe(40)
        self.oauth_codes[code] = OAuthCode(code, token, self._now())
        return code

    issue_oauth_code = locked(_issue_oauth_code)

    @locked
    def debug_token(self, input_token: str) -> dict[str, Any]:
        tok = self.tokens.get(input_token)
        if tok is None:
            return {
                "data": {
                    "error": {"code": 190, "message": "Invalid OAuth access token."},
                    "is_valid": False,
                    "scopes": [],
                }
            }
        valid = not tok.revoked and (tok.expires_at is None or tok.expires_at > self._now())
        waba_targets = list(self.wabas) if tok.waba_ids is None else list(tok.waba_ids)
        business_targets = tok.business_ids or sorted(
            {self.wabas[w].business_id for w in waba_targets if w in self.wabas}
        )
        granular = []
        for scope in tok.scopes:
            targets = business_targets if scope == "business_management" else waba_targets
            granular.append({"scope": scope, "target_ids": targets})
        data: dict[str, Any] = {
            "app_id": tok.app_id,
            "type": "APP"
            if tok.kind == "APP"
            else ("SYSTEM_USER" if tok.kind != "USER" else "USER"),
            "application": self.config.app_name,
            "data_access_expires_at": 0,
            "expires_at": int(tok.expires_at or 0),
            "is_valid": valid,
            "issued_at": int(tok.issued_at),
            "scopes": tok.scopes,
            "granular_scopes": granular,
            "user_id": tok.user_id,
        }
        if not valid:
            data["error"] = {
                "code": 190,
                "subcode": 463 if not tok.revoked else tok.revoke_subcode,
                "message": "Error validating access token",
            }
        return {"data": data}
