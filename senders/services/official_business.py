"""The Official Business Account badge: asking Meta for it, and following Meta's decision.

A request (:func:`oba_submit`) carries Meta's fields: the business's website, its main
country and language, 1–5 links that show it is notable (news articles), an optional
parent business or brand and notes. They are checked here before Meta is asked, and so
are Meta's own conditions we can see: the number is registered (with two-step
verification, which registering sets), its display name is approved, the business is
verified, no request is in review, the badge is not granted already, and 30 days have
passed since a rejection.

Meta sends no webhook for the decision: it shows in ``GET /{phone}/official_business_
account``. Beat runs :func:`oba_fan_out`, which queues one read per request in review
(``senders.oba_refresh``, on the ``sync`` queue); managers can also read it at once
(:func:`oba_refresh_now`). :func:`oba_status_apply` records a decision once, as history
of the number (kind OFFICIAL), sets ``PhoneNumber.is_official_business_account`` and
tells the managers, with the fix for a rejection (``official_business_rejected``).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import phonenumbers
from babel import Locale, UnknownLocaleError
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from accounts.models import Membership, NotificationLevel
from accounts.permissions import require_manager
from accounts.services import audit
from accounts.services.notifications import notification_kind_register, notify_managers_of
from accounts.tenancy import require_tenant
from senders import selectors, tasks
from senders import troubleshooting as ts
from senders.models import (
    AccountHistory,
    BusinessVerificationStatus,
    HistoryKind,
    OfficialBusinessRequest,
    OfficialBusinessStatus,
    PhoneNumber,
)
from senders.services import display_names, graph, meta_refusals, number_rules
from waba_portal.errors import Conflict, Invalid
from waba_portal.graph import errors as ge

logger = logging.getLogger(__name__)

SUPPORTING_LINKS_MIN = 1
SUPPORTING_LINKS_MAX = 5
URL_MAX_LENGTH = 256
PARENT_MAX_LENGTH = 256
NOTES_MAX_LENGTH = 1000
# Meta takes a new request this long after a rejection.
REAPPLY_AFTER = timedelta(days=30)
FIELDS = (
    "business_website_url",
    "primary_country_of_operation",
    "primary_language",
    "supporting_links",
    "parent_business_or_brand",
    "additional_supporting_information",
)
# Meta's oba_status values, as our request's status.
META_STATUSES = {
    "PENDING": OfficialBusinessStatus.PENDING,
    "UNDER_REVIEW": OfficialBusinessStatus.PENDING,
    "APPROVED": OfficialBusinessStatus.APPROVED,
    "REJECTED": OfficialBusinessStatus.REJECTED,
    "CANCELLED": OfficialBusinessStatus.CANCELLED,
    "EXPIRED": OfficialBusinessStatus.CANCELLED,
    "NOT_STARTED": OfficialBusinessStatus.NOT_STARTED,
}
# Languages a business can name as its main one (ISO 639-1), shown in the reader's language.
LANGUAGES = (
    "af", "sq", "ar", "az", "bn", "bg", "ca", "zh", "hr", "cs", "da", "nl", "en", "et", "fil",
    "fi", "fr", "ka", "de", "el", "gu", "he", "hi", "hu", "id", "ga", "it", "ja", "kn", "kk",
    "ko", "ky", "lo", "lv", "lt", "mk", "ms", "ml", "mr", "nb", "fa", "pl", "pt", "pa", "ro",
    "ru", "sr", "sk", "sl", "es", "sw", "sv", "ta", "te", "th", "tr", "uk", "ur", "uz", "vi",
    "zu",
)  # fmt: skip

KIND_DECIDED = "phone_number.official_business_decided"
SOURCE = "sync"

AUDIT_LABELS = {
    "phone_number.official_business_requested": gettext_lazy(
        "%(actor)s asked Meta for the Official Business Account badge for %(target)s"
    ),
    "phone_number.official_business_checked": gettext_lazy(
        "%(actor)s read the Official Business Account status of %(target)s from Meta"
    ),
}
audit.audit_labels_register(AUDIT_LABELS)


def _decided_title(p: dict[str, Any]) -> str:
    if p.get("approved"):
        return _("%(number)s is an Official Business Account now") % {"number": p["number"]}
    return _("Meta did not grant %(number)s the Official Business Account badge") % {
        "number": p["number"]
    }


def _decided_body(p: dict[str, Any]) -> str:
    if p.get("approved"):
        return _("Customers see the badge beside its name in WhatsApp.")
    entry = ts.get(ts.OFFICIAL_BUSINESS_REJECTED)
    said = [_("Meta said: %(message)s") % {"message": p["message"]}] if p.get("message") else []
    return " ".join([*said, *(str(step) for step in entry.steps)])


notification_kind_register(KIND_DECIDED, title=_decided_title, body=_decided_body)


# --- Choices --------------------------------------------------------------------------


def _babel_language() -> str:
    return (get_language() or "en").replace("-", "_")


@functools.lru_cache(maxsize=16)
def _language_names(language: str) -> dict[str, str]:
    try:
        locale = Locale.parse(language)
    except (UnknownLocaleError, ValueError):
        locale = Locale.parse("en")
    return dict(locale.languages)


def language_choices() -> list[tuple[str, str]]:
    """The languages a business can name as its main one, by name in the active language."""
    names = _language_names(_babel_language())
    return sorted(((code, names.get(code, code)) for code in LANGUAGES), key=lambda c: c[1])


def language_name(code: str) -> str:
    return _language_names(_babel_language()).get(code, code)


def country_choices() -> list[tuple[str, str]]:
    """Every country, by name in the active language."""
    return sorted(
        ((code, number_rules.region_name(code)) for code in phonenumbers.SUPPORTED_REGIONS),
        key=lambda c: c[1],
    )


def status_label(status: str) -> str:
    """A request's status in words ("Not requested" for none)."""
    if status in OfficialBusinessStatus.values:
        return str(OfficialBusinessStatus(status).label)
    return str(OfficialBusinessStatus.NOT_STARTED.label)


# --- Checking a request ---------------------------------------------------------------


@dataclass(frozen=True)
class OfficialBusinessInput:
    business_website_url: str
    primary_country_of_operation: str
    primary_language: str
    supporting_links: list[str]
    parent_business_or_brand: str
    additional_supporting_information: str

    def meta_body(self) -> dict[str, Any]:
        """The fields as Meta takes them (empty optional fields left out)."""
        body: dict[str, Any] = {
            "business_website_url": self.business_website_url,
            "primary_country_of_operation": self.primary_country_of_operation,
            "primary_language": self.primary_language,
            "supporting_links": self.supporting_links,
        }
        if self.parent_business_or_brand:
            body["parent_business_or_brand"] = self.parent_business_or_brand
        if self.additional_supporting_information:
            body["additional_supporting_information"] = self.additional_supporting_information
        return body


def _url_problem(url: str) -> str:
    """Why ``url`` is not a public web address ("" if it is one)."""
    if len(url) > URL_MAX_LENGTH:
        return _("Use at most %(max)d characters.") % {"max": URL_MAX_LENGTH}
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        return _("Enter a full web address that starts with https:// (or http://).")
    if re.search(r"\s", url):
        return _("Remove the spaces from the address.")
    if "." not in host or host.endswith(".") or re.fullmatch(r"[\d.]+", host):
        return _("Enter the address of a public website (with its domain, such as example.com).")
    if host in ("localhost",) or host.endswith((".local", ".localhost", ".internal", ".test")):
        return _("Enter the address of a public website (with its domain, such as example.com).")
    return ""


def _links_of(value: Any) -> list[str]:
    if isinstance(value, str):
        return [line.strip() for line in value.splitlines() if line.strip()]
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    return []


def oba_input_check(data: Mapping[str, Any]) -> OfficialBusinessInput:
    """Check the request's fields; ``Invalid`` names every field to fix
    (``details.fields``), the first one as ``field``."""
    errors: dict[str, list[str]] = {}

    def text(name: str) -> str:
        value = data.get(name)
        return value.strip() if isinstance(value, str) else ""

    website = text("business_website_url")
    if not website:
        errors["business_website_url"] = [_("Enter the address of the business's website.")]
    elif problem := _url_problem(website):
        errors["business_website_url"] = [problem]
    country = text("primary_country_of_operation").upper()
    if not number_rules.region_is_known(country):
        errors["primary_country_of_operation"] = [
            _("Choose the country where the business mainly operates.")
        ]
    language = text("primary_language").lower()
    if language not in LANGUAGES:
        errors["primary_language"] = [_("Choose the main language of the business.")]
    links = _links_of(data.get("supporting_links"))
    if not SUPPORTING_LINKS_MIN <= len(links) <= SUPPORTING_LINKS_MAX:
        errors["supporting_links"] = [
            _(
                "Give 1 to %(max)d links to articles about the business (one a line); "
                "you gave %(count)d."
            )
            % {"max": SUPPORTING_LINKS_MAX, "count": len(links)}
        ]
    else:
        bad = [(link, _url_problem(link)) for link in links]
        bad = [(link, why) for link, why in bad if why]
        if bad:
            errors["supporting_links"] = [f"{link}: {why}" for link, why in bad]
        elif len(set(links)) != len(links):
            errors["supporting_links"] = [_("Give each link once.")]
    parent = text("parent_business_or_brand")
    if len(parent) > PARENT_MAX_LENGTH:
        errors["parent_business_or_brand"] = [
            _("Use at most %(max)d characters.") % {"max": PARENT_MAX_LENGTH}
        ]
    notes = text("additional_supporting_information")
    if len(notes) > NOTES_MAX_LENGTH:
        errors["additional_supporting_information"] = [
            _("Use at most %(max)d characters.") % {"max": NOTES_MAX_LENGTH}
        ]
    if errors:
        first = next(iter(errors))
        raise Invalid(
            _("Check the highlighted fields."),
            field=first,
            code="invalid",
            details={"fields": errors},
        )
    return OfficialBusinessInput(website, country, language, links, parent, notes)


def oba_blockers(*, phone: PhoneNumber) -> list[str]:
    """What stops this number from asking for the badge now, each saying what to do."""
    waba = phone.waba
    blockers: list[str] = []
    latest = selectors.oba_latest(phone=phone)
    if phone.is_official_business_account or (
        latest is not None and latest.status == OfficialBusinessStatus.APPROVED
    ):
        return [_("This number has the Official Business Account badge already.")]
    if latest is not None and latest.status == OfficialBusinessStatus.PENDING:
        return [_("Meta is reviewing this number's request; its decision will show here.")]
    if not waba.is_connected or not waba.access_token:
        return [_("Connect the account again before you ask for the badge.")]
    if not display_names.is_registered(phone):
        blockers.append(
            _("Register the number first: Meta grants the badge to registered numbers only.")
        )
    if phone.name_status not in display_names.APPROVED_NAME_STATUSES:
        blockers.append(_("Wait until Meta approves the display name of the number."))
    if waba.business_verification_status != BusinessVerificationStatus.VERIFIED:
        blockers.append(_("Verify the business in Meta Business Suite → Security Centre first."))
    if latest is not None and latest.status == OfficialBusinessStatus.REJECTED:
        again = (latest.decided_at or latest.submitted_at) + REAPPLY_AFTER
        if timezone.now() < again:
            blockers.append(
                _("Meta takes a new request 30 days after a rejection: from %(date)s.")
                % {"date": timezone.localtime(again).date().isoformat()}
            )
    return blockers


# --- Asking Meta ----------------------------------------------------------------------


def oba_submit(
    *, actor: Membership, phone: PhoneNumber, data: Mapping[str, Any]
) -> OfficialBusinessRequest:
    """Ask Meta for the badge with the request's fields; refused with what to fix first."""
    require_manager(
        actor, message=_("Only owners and admins can ask for the Official Business Account.")
    )
    request = oba_input_check(data)
    blockers = oba_blockers(phone=phone)
    if blockers:
        raise Conflict(" ".join(blockers), code="official_business_not_now")
    client = graph.graph_client(token=str(phone.waba.access_token))
    try:
        client.official_business_account_request(phone.phone_number_id, **request.meta_body())
    except ge.GraphError as exc:
        raise meta_refusals.refusal_for(exc) from exc
    finally:
        client.close()
    with transaction.atomic():
        row = OfficialBusinessRequest.objects.create(
            phone_number=phone,
            status=OfficialBusinessStatus.PENDING,
            submitted_by=actor.user,
            **{name: getattr(request, name) for name in FIELDS},
        )
        _history(phone=phone, old=OfficialBusinessStatus.NOT_STARTED, new=row.status, source="user")
        audit.audit_record(
            actor=actor.user,
            action="phone_number.official_business_requested",
            target=phone,
            metadata={
                "website": request.business_website_url,
                "links": len(request.supporting_links),
            },
        )
    return row


def oba_refresh_now(*, actor: Membership, phone: PhoneNumber) -> OfficialBusinessRequest | None:
    """Read the badge's status from Meta now (a manager's "Check now")."""
    require_manager(actor, message=_("Only owners and admins can check with Meta."))
    if not phone.waba.is_connected or not phone.waba.access_token:
        raise Conflict(_("Connect the account again before you check with Meta."))
    client = graph.graph_client(token=str(phone.waba.access_token))
    try:
        data = client.official_business_account_get(phone.phone_number_id)
    except ge.GraphError as exc:
        raise meta_refusals.refusal_for(exc) from exc
    finally:
        client.close()
    audit.audit_record(
        actor=actor.user, action="phone_number.official_business_checked", target=phone
    )
    return oba_status_apply(phone_pk=phone.pk, data=data)


def oba_refresh(*, request_pk: int) -> OfficialBusinessRequest | None:
    """The periodic read of one request in review (the task). Meta unavailable raises,
    for the task to retry; other errors are logged and the next round tries again."""
    row = (
        OfficialBusinessRequest.objects.select_related("phone_number__waba")
        .filter(pk=request_pk)
        .first()
    )
    if row is None or row.status != OfficialBusinessStatus.PENDING:
        return row
    phone = row.phone_number
    if not phone.waba.is_connected or not phone.waba.access_token:
        return row
    client = graph.graph_client(token=str(phone.waba.access_token))
    try:
        data = client.official_business_account_get(phone.phone_number_id)
    except (ge.GraphTransientError, ge.GraphRateLimitError):
        raise
    except ge.GraphError as exc:
        logger.warning("OBA status of %s not read: %s", phone.phone_number_id, exc)
        return row
    finally:
        client.close()
    return oba_status_apply(phone_pk=phone.pk, data=data)


def oba_fan_out() -> int:
    """Beat: queue a read of every request Meta has not decided (across tenants)."""
    due = selectors.oba_requests_pending(limit=settings.OBA_REFRESH_BATCH_CAP)
    for tenant_pk, request_pk in due:
        tasks.oba_refresh_task.delay_on_commit(tenant_pk, request_pk)
    return len(due)


@transaction.atomic
def oba_status_apply(*, phone_pk: int, data: Mapping[str, Any]) -> OfficialBusinessRequest | None:
    """Apply Meta's ``oba_status`` to the number's last request (once per decision)."""
    phone = PhoneNumber.objects.select_for_update().select_related("waba").get(pk=phone_pk)
    status = META_STATUSES.get(str(data.get("oba_status") or "").upper())
    message = str(data.get("status_message") or "")
    row = selectors.oba_latest(phone=phone)
    if status is None:
        return row
    if row is None:
        if status in (OfficialBusinessStatus.NOT_STARTED, OfficialBusinessStatus.PENDING):
            return None  # nothing asked here, nothing decided
        # Asked for elsewhere (WhatsApp Manager, support): the decision is kept all the same.
        row = OfficialBusinessRequest.objects.create(
            phone_number=phone,
            status=OfficialBusinessStatus.PENDING,
            business_website_url="",
            primary_country_of_operation="",
            primary_language="",
        )
    if row.status == status or status == OfficialBusinessStatus.NOT_STARTED:
        return row
    old = row.status
    row.status = status
    row.decided_at = timezone.now() if status != OfficialBusinessStatus.PENDING else None
    row.rejection_reason = message if status == OfficialBusinessStatus.REJECTED else ""
    row.save(update_fields=["status", "decided_at", "rejection_reason"])
    badge = status == OfficialBusinessStatus.APPROVED
    if phone.is_official_business_account != badge and status != OfficialBusinessStatus.PENDING:
        phone.is_official_business_account = badge
        phone.save(update_fields=["is_official_business_account"])
    _history(phone=phone, old=old, new=status, source=SOURCE, detail={"message": message})
    if status in (OfficialBusinessStatus.APPROVED, OfficialBusinessStatus.REJECTED):
        notify_managers_of(
            kind=KIND_DECIDED,
            params={"number": str(phone), "approved": badge, "message": message},
            url=reverse(
                "senders:number_name",
                kwargs={"tenant_slug": require_tenant().slug, "phone_pk": phone.pk},
            ),
            level=NotificationLevel.INFO if badge else NotificationLevel.WARNING,
        )
    return row


def _history(
    *, phone: PhoneNumber, old: str, new: str, source: str, detail: dict[str, Any] | None = None
) -> AccountHistory:
    return AccountHistory.objects.create(
        waba_id=phone.waba_id,
        phone_number=phone,
        kind=HistoryKind.OFFICIAL,
        old_value=old,
        new_value=new,
        source=source,
        detail=detail or {},
        occurred_at=timezone.now(),
    )
