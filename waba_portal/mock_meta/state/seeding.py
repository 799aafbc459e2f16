"""Seeding the world from a spec (``POST /_mock/seed``; an empty spec seeds the demo)."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from ..models import Business, PhoneNumber, Subscription, Template, Waba
from .auth import AuthMixin
from .base import locked
from .demo import demo_seed_spec
from .values import split_e164


class SeedingMixin(AuthMixin):
    @locked
    def seed(self, spec: dict[str, Any]) -> dict[str, Any]:
        if not spec:
            spec = demo_seed_spec()
        result: dict[str, Any] = {"businesses": [], "tokens": []}
        seeded_wabas: list[str] = []
        name_to_waba: dict[str, str] = {}
        for bspec in spec.get("businesses", []):
            biz = Business(
                id=str(bspec.get("id") or self._new_id()),
                name=str(bspec.get("name") or "Mock Business"),
                verification_status=str(
                    bspec.get("verification_status") or bspec.get("verification") or "verified"
                ).lower(),
                messaging_limit=str(bspec.get("messaging_limit") or "TIER_2K"),
                max_phone_numbers=int(bspec.get("max_phone_numbers") or 20),
                created_at=self._now(),
            )
            self.businesses[biz.id] = biz
            bres: dict[str, Any] = {"id": biz.id, "name": biz.name, "wabas": []}
            for wspec in bspec.get("wabas", []):
                waba = self._seed_waba(biz, wspec)
                seeded_wabas.append(waba.id)
                name_to_waba[waba.name] = waba.id
                bres["wabas"].append(self._seed_waba_children(waba, wspec))
            result["businesses"].append(bres)
        token_specs = spec.get("tokens")
        if token_specs is None:
            token_specs = [{}]
        for tspec in token_specs:
            refs = tspec.get("wabas", seeded_wabas)
            if refs == "all" or refs == "*":
                waba_ids = None
            else:
                waba_ids = [name_to_waba.get(str(r), str(r)) for r in refs]
            tok = self._issue_token(
                kind=str(tspec.get("type") or tspec.get("kind") or "SYSTEM_USER").upper(),
                waba_ids=waba_ids,
                business_ids=tspec.get("business_ids"),
                scopes=tspec.get("scopes"),
                expires_in=(-1 if tspec.get("expired") else tspec.get("expires_in")),
                token=tspec.get("token"),
                revoked=bool(tspec.get("revoked")),
            )
            if tspec.get("revoke_subcode"):
                tok.revoke_subcode = int(tspec["revoke_subcode"])
            result["tokens"].append(
                {
                    "token": tok.token,
                    "waba_ids": tok.waba_ids,
                    "kind": tok.kind,
                    "expires_at": tok.expires_at,
                    "revoked": tok.revoked,
                }
            )
        if result["tokens"]:
            result["token"] = result["tokens"][0]["token"]
        if result["businesses"]:
            first = result["businesses"][0]
            result["business_id"] = first["id"]
            if first["wabas"]:
                result["waba_id"] = first["wabas"][0]["id"]
                if first["wabas"][0]["phone_numbers"]:
                    result["phone_number_id"] = first["wabas"][0]["phone_numbers"][0]["id"]
        return result

    def _seed_waba(self, biz: Business, wspec: dict[str, Any]) -> Waba:
        waba = Waba(
            id=str(wspec.get("id") or self._new_id()),
            business_id=biz.id,
            name=str(wspec.get("name") or f"{biz.name} WABA"),
            currency=str(wspec.get("currency") or "USD"),
            timezone_id=str(wspec.get("timezone_id") or "1"),
            country=str(wspec.get("country") or "US"),
            message_template_namespace=str(uuid.uuid4()).replace("-", "_"),
            account_review_status=str(wspec.get("account_review_status") or "APPROVED"),
            ownership_type=str(wspec.get("ownership_type") or "CLIENT_OWNED"),
            status=str(wspec.get("status") or "ACTIVE"),
            ban_state=wspec.get("ban_state"),
            payment_method=bool(wspec.get("payment_method", True)),
            created_at=self._now(),
        )
        if waba.ban_state == "DISABLE":
            waba.status = "DISABLED"
        if wspec.get("subscribed", True):
            waba.subscriptions[self.config.app_id] = Subscription(
                self.config.app_id,
                self.config.app_name,
                wspec.get("override_callback_uri"),
                wspec.get("verify_token"),
            )
        waba.partner_app_ids.append(self.config.app_id)
        self.wabas[waba.id] = waba
        return waba

    def _seed_waba_children(self, waba: Waba, wspec: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": waba.id,
            "name": waba.name,
            "phone_numbers": [],
            "templates": [],
        }
        for pspec in wspec.get("phone_numbers", []):
            raw = str(
                pspec.get("phone")
                or pspec.get("phone_number")
                or f"+1555{secrets.randbelow(10**7):07d}"
            )
            cc, national = split_e164(raw, pspec.get("cc"))
            registered = bool(
                pspec.get("registered", pspec.get("status", "CONNECTED") == "CONNECTED")
            )
            phone = PhoneNumber(
                id=str(pspec.get("id") or self._new_id()),
                waba_id=waba.id,
                cc=cc,
                national_number=national,
                verified_name=str(
                    pspec.get("verified_name") or pspec.get("display_name") or waba.name
                ),
                status=str(pspec.get("status") or ("CONNECTED" if registered else "PENDING")),
                code_verification_status=str(
                    pspec.get("code_verification_status")
                    or ("VERIFIED" if pspec.get("verified", registered) else "NOT_VERIFIED")
                ),
                platform_type=str(
                    pspec.get("platform_type") or ("CLOUD_API" if registered else "NOT_APPLICABLE")
                ),
                name_status=str(pspec.get("name_status") or "APPROVED"),
                quality_rating=str(pspec.get("quality_rating") or "GREEN"),
                throughput_level=str(pspec.get("throughput") or "STANDARD"),
                pin=pspec.get("pin"),
                pin_set_by=str(pspec.get("pin_set_by") or "us") if pspec.get("pin") else None,
                is_official_business_account=bool(pspec.get("is_official_business_account")),
                created_at=self._now(),
                last_onboarded_time=self._now() if registered else None,
            )
            if registered and phone.status == "CONNECTED" and phone.pin is None:
                phone.pin, phone.pin_set_by = "000000", "us"
            if pspec.get("profile"):
                phone.profile.update(pspec["profile"])
            self.phones[phone.id] = phone
            out["phone_numbers"].append(
                {
                    "id": phone.id,
                    "display_phone_number": phone.display_number(),
                    "phone": "+" + phone.e164_digits,
                    "status": phone.status,
                }
            )
        for tspec in wspec.get("templates", []):
            comps = tspec.get("components") or [
                {"type": "BODY", "text": tspec.get("body") or "Hello, this is a message."}
            ]
            tpl = Template(
                id=str(tspec.get("id") or self._new_id()),
                waba_id=waba.id,
                name=str(tspec["name"]),
                language=str(tspec.get("language") or "en_US"),
                category=str(tspec.get("category") or "UTILITY").upper(),
                components=comps,
                status=str(tspec.get("status") or "APPROVED").upper(),
                rejected_reason=str(tspec.get("rejected_reason") or "NONE"),
                parameter_format=str(tspec.get("parameter_format") or "POSITIONAL"),
                created_at=self._now(),
            )
            self.templates[tpl.id] = tpl
            out["templates"].append(
                {"id": tpl.id, "name": tpl.name, "language": tpl.language, "status": tpl.status}
            )
        for i in range(int(wspec.get("filler_templates", 0))):
            tpl = Template(
                id=self._new_id(),
                waba_id=waba.id,
                name=f"filler_{i:04d}",
                language="en_US",
                category="UTILITY",
                components=[{"type": "BODY", "text": f"Filler {i}"}],
                status="APPROVED",
                created_at=self._now(),
            )
            self.templates[tpl.id] = tpl
        return out
