"""Contacts: made by members and the API (inbound messages make their own), their names
and numbers, their consent, and the workspace's own consent keywords.

Consent changes keep their history (``ConsentChange``): who or what gave it (a keyword
from the contact, a member, the API) and when. A contact's state is the latest change.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.permissions import require_manager
from accounts.services.audit import audit_record
from inbox import phones
from inbox.consent import KEYWORD_MAX_LENGTH, keyword_key, keywords_parse
from inbox.models import ConsentChange, ConsentSource, ConsentState, Contact, InboxSettings
from inbox.search_words import words_refresh
from inbox.services.conversations import actor_label
from waba_portal.errors import Conflict, Invalid

NAME_MAX_LENGTH = 255
KEYWORDS_MAX = 30
CONSENT_NOTE_MAX_LENGTH = 255


def _user(actor: Any) -> Any:
    return getattr(actor, "user", None)


def phone_parse(value: Any, *, field: str, required: bool) -> str:
    """``value`` as E.164, or a field error saying how to write it."""
    raw = str(value or "").strip()
    if not raw:
        if required:
            raise Invalid(
                _("Enter the contact's WhatsApp number, with + and the country code."),
                field=field,
            )
        return ""
    e164 = phones.normalize(raw)
    if not e164:
        raise Invalid(
            _(
                "“%(value)s” is not a phone number: enter it in international format, with + "
                "and the country code (for example +49 151 23456789)."
            )
            % {"value": raw[:40]},
            field=field,
        )
    return e164


def _name(value: Any) -> str:
    name = " ".join(str(value or "").split())
    if len(name) > NAME_MAX_LENGTH:
        raise Invalid(
            _("A name has at most %(max)d characters.") % {"max": NAME_MAX_LENGTH}, field="name"
        )
    return name


def contact_by_phone(e164: str, *, exclude: Contact | None = None) -> Contact | None:
    """The contact whose phone or mobile is ``e164`` (in any of its forms)."""
    forms = phones.equivalents(e164)
    found = Contact.objects.filter(Q(phone__in=forms) | Q(mobile__in=forms))
    if exclude is not None:
        found = found.exclude(pk=exclude.pk)
    return found.first()


def _taken(e164: str, holder: Contact, field: str) -> Invalid:
    return Invalid(
        _("%(phone)s is already the number of the contact %(contact)s.")
        % {"phone": e164, "contact": holder.display_name},
        field=field,
        code="contact_exists",
        details={"contact": holder.pk},
    )


def contact_create(*, actor: Any, phone: Any, name: Any = "", mobile: Any = "") -> Contact:
    """A contact by WhatsApp number (E.164 after normalizing), with a name and a mobile."""
    e164 = phone_parse(phone, field="phone", required=True)
    second = phone_parse(mobile, field="mobile", required=False)
    clean_name = _name(name)
    for number, field in ((e164, "phone"), (second, "mobile")):
        holder = contact_by_phone(number) if number else None
        if holder is not None:
            raise _taken(number, holder, field)
    try:
        with transaction.atomic():
            contact = Contact.objects.create(
                phone=e164, wa_id=phones.digits(e164), mobile=second, name=clean_name
            )
            audit_record(actor=_user(actor), action="contact.created", target=contact)
    except IntegrityError:
        raise Conflict(
            _("A contact with this number was just added: open it from the contacts list."),
            code="contact_exists",
        ) from None
    return contact


def contact_update(
    *, actor: Any, contact: Contact, name: Any = None, mobile: Any = None
) -> Contact:
    """Change the name the workspace gives the contact, and their other number."""
    changes: dict[str, Any] = {}
    if name is not None:
        clean = _name(name)
        if clean != contact.name:
            changes["name"] = clean
    if mobile is not None:
        second = phone_parse(mobile, field="mobile", required=False)
        if second and second != contact.mobile:
            holder = contact_by_phone(second, exclude=contact)
            if holder is not None or second == contact.phone:
                raise _taken(second, holder or contact, "mobile")
        if second != contact.mobile:
            changes["mobile"] = second
    if not changes:
        return contact
    with transaction.atomic():
        before = {field: getattr(contact, field) for field in changes}
        for field, value in changes.items():
            setattr(contact, field, value)
        contact.save(update_fields=[*changes, "updated_at"])
        if "name" in changes:  # the old name no longer finds their conversations
            words_refresh(contact.conversations.values_list("pk", flat=True))
        audit_record(
            actor=_user(actor),
            action="contact.changed",
            target=contact,
            metadata={
                "fields": sorted(changes),
                **{f"from_{k}": v for k, v in before.items()},
                **{f"to_{k}": v for k, v in changes.items()},
            },
        )
    return contact


def contact_delete(*, actor: Any, contact: Contact) -> None:
    """Delete a contact with their conversations and messages (owners and admins)."""
    require_manager(
        actor, message=_("Only owners and admins can delete contacts with their conversations.")
    )
    with transaction.atomic():
        audit_record(
            actor=_user(actor),
            action="contact.deleted",
            target=contact,
            metadata={"phone": contact.phone},
        )
        contact.delete()


def consent_record(
    *,
    actor: Any,
    contact: Contact,
    state: Any,
    note: Any = "",
    source: str = ConsentSource.AGENT,
) -> ConsentChange:
    """A member (or the API) records that the contact opted in or out, and how they said so."""
    if state not in (ConsentState.OPTED_IN, ConsentState.OPTED_OUT):
        raise Invalid(_("Choose opted in or opted out."), field="state")
    text = " ".join(str(note or "").split())
    if len(text) > CONSENT_NOTE_MAX_LENGTH:
        raise Invalid(
            _("The note has at most %(max)d characters.") % {"max": CONSENT_NOTE_MAX_LENGTH},
            field="note",
        )
    now = timezone.now()
    with transaction.atomic():
        change = ConsentChange.objects.create(
            contact=contact,
            state=state,
            source=source,
            actor=actor if getattr(actor, "pk", None) else None,
            actor_label=actor_label(actor),
            note=text,
            occurred_at=now,
        )
        contact.consent, contact.consent_source, contact.consent_at = state, source, now
        contact.save(update_fields=["consent", "consent_source", "consent_at", "updated_at"])
        audit_record(
            actor=_user(actor),
            action="contact.consent_recorded",
            target=contact,
            metadata={"state": str(state), "source": str(source)},
        )
    return change


def inbox_settings() -> InboxSettings:
    """The workspace's inbox settings (unsaved defaults until first saved)."""
    return InboxSettings.objects.filter().first() or InboxSettings(
        opt_in_keywords=[], opt_out_keywords=[]
    )


def _keywords(raw: Any, field: str) -> list[str]:
    words = keywords_parse(raw if isinstance(raw, str | list | tuple) else "")
    if len(words) > KEYWORDS_MAX:
        raise Invalid(
            _("At most %(max)d keywords of your own.") % {"max": KEYWORDS_MAX}, field=field
        )
    for word in words:
        if len(keyword_key(word)) > KEYWORD_MAX_LENGTH:
            raise Invalid(
                _("“%(word)s” is too long for a keyword.") % {"word": word[:40]}, field=field
            )
    return words


def inbox_settings_update(*, actor: Any, opt_in: Any, opt_out: Any) -> InboxSettings:
    """The workspace's own opt-in and opt-out keywords (owners and admins)."""
    require_manager(actor, message=_("Only owners and admins can change the consent keywords."))
    words_in, words_out = _keywords(opt_in, "opt_in"), _keywords(opt_out, "opt_out")
    both = {keyword_key(w) for w in words_in} & {keyword_key(w) for w in words_out}
    if both:
        raise Invalid(
            _("A keyword cannot both opt in and opt out: %(words)s.")
            % {"words": ", ".join(w for w in words_in if keyword_key(w) in both)},
            field="opt_out",
        )
    with transaction.atomic():
        row = InboxSettings.objects.select_for_update().first() or InboxSettings()
        row.opt_in_keywords, row.opt_out_keywords = words_in, words_out
        row.save()
        audit_record(
            actor=_user(actor),
            action="inbox.keywords_changed",
            metadata={"opt_in": ", ".join(words_in), "opt_out": ", ".join(words_out)},
        )
    return row
