"""The mock's world and its rules: businesses, WABAs, numbers, templates, tokens, messages.

No HTTP here. Every public method takes the state lock (see ``base``); methods raise
:class:`~waba_portal.mock_meta.errors.GraphError` for Graph failures. Webhooks are handed to
``deliver`` (the dispatcher) and delayed work to ``scheduler``.

:class:`State` is composed of one mixin per domain, each in its own module:

- ``base``: the lock and ``@locked``, the tables, node ids, the clock, ``reset``
- ``auth``: tokens, OAuth codes, the access check; ``events``: where webhooks go
- ``users``: WhatsApp users as a business sees them (BSUIDs), the ``contacts`` entry
- ``serialisation``: nodes as Graph shows them; ``query``: ``?fields=`` and paging
- ``wabas``, ``phone_numbers``, ``registration``, ``phone_settings``, ``qr_codes``,
  ``templates``, ``media``, ``messages`` (outbound), ``inbound``: the Graph operations
- ``control``, ``seeding``, ``signup``, ``demo``: what the control API and the signup
  dialog do to the world
"""

from __future__ import annotations

from .auth import SCOPES_ALL, AuthMixin
from .base import StateBase, WebhookEvent
from .control import ControlMixin
from .demo import demo_seed_spec
from .events import EventsMixin
from .inbound import DEFAULT_MIME, INBOUND_TYPES, InboundMixin
from .media import MediaMixin
from .messages import MEDIA_TYPES, OUTBOUND_TYPES, MessagesMixin
from .phone_numbers import PhoneNumbersMixin
from .phone_settings import VERTICALS, PhoneSettingsMixin
from .qr_codes import QrCodesMixin
from .query import paginate, parse_fields, select_fields
from .registration import PIN_RE, RegistrationMixin
from .seeding import SeedingMixin
from .serialisation import LIMIT_TO_LEGACY, SerialisationMixin
from .signup import SignupMixin
from .templates import TEMPLATE_CATEGORIES, TEMPLATE_NAME_RE, VAR_RE, TemplatesMixin
from .users import BSUID_RE, UsersMixin, bsuid
from .values import country_of, split_e164
from .wabas import WabasMixin

__all__ = [
    "BSUID_RE",
    "DEFAULT_MIME",
    "INBOUND_TYPES",
    "LIMIT_TO_LEGACY",
    "MEDIA_TYPES",
    "OUTBOUND_TYPES",
    "PIN_RE",
    "SCOPES_ALL",
    "TEMPLATE_CATEGORIES",
    "TEMPLATE_NAME_RE",
    "VAR_RE",
    "VERTICALS",
    "State",
    "WebhookEvent",
    "bsuid",
    "country_of",
    "demo_seed_spec",
    "paginate",
    "parse_fields",
    "select_fields",
    "split_e164",
]


class State(
    # Every mixin comes before the ones it builds on, in one order they all agree with.
    SignupMixin,
    SeedingMixin,
    ControlMixin,
    InboundMixin,
    MessagesMixin,
    TemplatesMixin,
    QrCodesMixin,
    PhoneSettingsMixin,
    RegistrationMixin,
    PhoneNumbersMixin,
    MediaMixin,
    WabasMixin,
    SerialisationMixin,
    AuthMixin,
    UsersMixin,
    EventsMixin,
    StateBase,
):
    """The whole mock world. Thread-safe through one re-entrant lock."""
