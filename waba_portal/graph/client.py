"""``GraphClient``: the one class that speaks HTTP to Meta's Graph API.

It is :class:`~waba_portal.graph.transport.GraphTransport` (session, timeouts, retries,
paging, logging without tokens) with one mixin per resource area from
:mod:`waba_portal.graph.resources`. Callers use only this class::

    client = GraphClient.from_settings(token=business_token)

Idempotency of POST operations (each call passes ``idempotent=`` to the transport):

=========================================  ===========  ==================================
operation                                  idempotent   why
=========================================  ===========  ==================================
waba_update, business_profile_update        yes          sets values; repeating is harmless
subscribed_apps_subscribe                   yes          subscribing twice is a no-op
credit_line_attach                          yes          Meta answers the same allocation
mark_read                                   yes          marking read twice is harmless
qr_code_update                              yes          sets the same prefilled message
resumable upload (session, bytes @0)        yes          an extra session/offset-0 upload
                                                         has no visible effect
send_message and helpers                    no           a retry may deliver twice
phone_number_add, template_create,          no           creates a second object / counts
qr_code_create, media_upload                             against a limit
request_code, verify_code                   no           sends an SMS/call; codes are single
                                                         use
register, deregister                        no           10 per 72 h (error 133016)
phone_number_update, template_edit,         no           triggers a review / edits limited
official_business_account_request                        per period
=========================================  ===========  ==================================
"""

from __future__ import annotations

from .resources.business_profile import BusinessProfileMixin
from .resources.media import MediaMixin
from .resources.messages import MessagesMixin, SendResult
from .resources.phone_numbers import PhoneNumbersMixin
from .resources.qr_codes import QrCodesMixin
from .resources.templates import TemplatesMixin
from .resources.tokens import TokenInfo, TokensMixin
from .resources.wabas import WabasMixin
from .transport import DEFAULT_BASE_URL, DEFAULT_VERSION, GraphTransport

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_VERSION",
    "GraphClient",
    "SendResult",
    "TokenInfo",
]


class GraphClient(
    TokensMixin,
    WabasMixin,
    PhoneNumbersMixin,
    BusinessProfileMixin,
    QrCodesMixin,
    TemplatesMixin,
    MessagesMixin,
    MediaMixin,
    GraphTransport,
):
    """Client for Meta's Graph API (WhatsApp Business Management and Cloud API).

    Construct with explicit arguments, or with :meth:`from_settings` inside Django.
    ``token`` is the default access token; every operation also takes ``token=``.
    """
