"""WhatsApp users as one business sees them: BSUIDs, usernames, and the ``contacts`` entry.

A business-scoped user id (BSUID; NOTES §10, DOC …/whatsapp/business-scoped-user-ids) names a
user within one business portfolio: an ISO country code, a dot and digits, such as
``US.13491208655302741918``. Here it is derived from the portfolio and the user's number, so it
is stable for one (portfolio, number) pair, differs between portfolios, and is new when the user
changes number. A parent BSUID (switched on per user here) is shared across portfolios and has
``ENT`` between the country and the digits.

Every ``contacts[]`` entry of a ``messages`` webhook carries ``user_id``, inbound messages and
statuses alike; ``profile.username`` appears for a user with a username on inbound messages and
on delivered and read statuses. A user with a username may keep the number from businesses
(``hide_wa_id``): their inbound messages then have no ``wa_id`` in the contact and no ``from``,
as in Meta's example payload. Statuses of messages sent to a number still name that number.
``identity_key_hash`` is added to inbound contacts while the receiving number's
``user_identity_change`` setting has the identity key check on.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from ..models import PhoneNumber, WaUser
from .base import StateBase
from .values import country_of, split_e164

BSUID_RE = re.compile(r"^[A-Z]{2}\.(ENT\.)?[0-9A-Za-z]{1,128}$")


def bsuid(scope: str, wa_id: str, *, parent: bool = False) -> str:
    """A BSUID for the user with number ``wa_id`` in portfolio ``scope``."""
    country = country_of(*split_e164(wa_id))
    digest = hashlib.sha256(f"{scope}:{wa_id}".encode()).digest()
    number = int.from_bytes(digest[:10], "big") % 10**20
    return f"{country}.{'ENT.' if parent else ''}{number:020d}"


class UsersMixin(StateBase):
    def _wa_user(self, business_id: str, wa_id: str) -> WaUser:
        key = (business_id, wa_id)
        user = self.wa_users.get(key)
        if user is None:
            user = WaUser(business_id=business_id, wa_id=wa_id, user_id=bsuid(business_id, wa_id))
            self.wa_users[key] = user
        return user

    def _apply_user_spec(self, user: WaUser, spec: dict[str, Any]) -> None:
        """The control API's options for the simulated user (kept for later webhooks);
        checked first, so a refused spec changes nothing."""
        user_id, username, parent = user.user_id, user.username, user.parent_user_id
        if spec.get("user_id"):
            if not BSUID_RE.match(str(spec["user_id"])):
                raise ValueError("user_id must look like US.13491208655302741918")
            user_id = str(spec["user_id"])
        if "username" in spec:
            username = str(spec["username"]) if spec["username"] else None
        if "parent_user_id" in spec:
            given = spec["parent_user_id"]
            if given is True:
                parent = bsuid("parent", user.wa_id, parent=True)
            elif given:
                if not BSUID_RE.match(str(given)):
                    raise ValueError("parent_user_id must look like US.ENT.11815799212886844830")
                parent = str(given)
            else:
                parent = None
        hide = bool(spec["hide_wa_id"]) if "hide_wa_id" in spec else user.hide_wa_id
        if hide and not username:
            raise ValueError("hide_wa_id needs a username: only users with one hide their number")
        user.user_id, user.username, user.parent_user_id = user_id, username, parent
        user.hide_wa_id = hide

    def _user_moved(self, user: WaUser, new_wa_id: str) -> WaUser:
        """The same person on a new number: a new BSUID (and parent BSUID)."""
        moved = self._wa_user(user.business_id, new_wa_id)
        moved.name, moved.username, moved.hide_wa_id = user.name, user.username, user.hide_wa_id
        if user.parent_user_id:
            moved.parent_user_id = bsuid("parent", new_wa_id, parent=True)
        return moved

    def _contact(
        self, user: WaUser, phone: PhoneNumber, *, status: str | None = None
    ) -> dict[str, Any]:
        """The ``contacts[]`` entry for ``user``: of an inbound message (``status`` None)
        or of a status webhook."""
        profile: dict[str, Any] = {}
        if user.name:
            profile["name"] = user.name
        if user.username and status in (None, "delivered", "read"):
            profile["username"] = user.username
        entry: dict[str, Any] = {}
        if profile:
            entry["profile"] = profile
        if not (user.hide_wa_id and status is None):
            entry["wa_id"] = user.wa_id
        entry["user_id"] = user.user_id
        if user.parent_user_id:
            entry["parent_user_id"] = user.parent_user_id
        identity = phone.settings.get("user_identity_change") or {}
        if status is None and identity.get("enable_identity_key_check"):
            entry["identity_key_hash"] = hashlib.sha256(
                f"identity:{user.user_id}".encode()
            ).hexdigest()[:16]
        return entry
