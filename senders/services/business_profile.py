"""A number's business profile: editing it here, its logo, and sending both to Meta.

Two rows per number. :class:`~senders.models.BusinessProfile` is what Meta last
reported; :class:`~senders.models.BusinessProfileSync` is the profile as the tenant
wants it and how far that got: *saved here* → *sent to Meta* → *live at Meta*, or
*failed* with the troubleshooting entry and Meta's words (and Retry).

- A save (:func:`profile_save`, :func:`profile_picture_upload`, :func:`profile_retry`)
  stores the edit and queues :func:`profile_push`, by way of the task, with the edit's
  version (its ``edited_at``): a task whose version is no longer the row's finds a newer
  edit with its own task and does nothing, so two quick saves send the last one once.
- :func:`profile_push` uploads a new logo with Meta's resumable upload (session →
  bytes → handle), posts the profile with the handle, reads the profile back and marks
  the edit live when Meta shows what was sent. Meta being unavailable, or still showing
  the old values, raises for the task to retry (bounded, ``PROFILE_SYNC_*`` settings);
  any other Meta error fails the edit at once, with its troubleshooting entry.
- :func:`profile_refresh` reads the profile from Meta (on demand, and when a page
  finds none): the edit follows Meta when nothing is on its way.

The logo is judged by its content (Pillow), never by its name or content type: a JPEG
of at least ``PROFILE_PICTURE_MIN_PIXELS`` a side and at most
``PROFILE_PICTURE_MAX_BYTES``, cropped to a square when asked, re-encoded (no camera
metadata leaves) and kept with Django's storage API.
"""

from __future__ import annotations

import io
import logging
import secrets
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import EmailValidator, URLValidator
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from PIL import Image, ImageOps, UnidentifiedImageError

from accounts.models import Membership, NotificationLevel
from accounts.permissions import require_manager
from accounts.services.audit import audit_record
from accounts.services.notifications import notification_kind_register, notify_managers_of
from accounts.tenancy import require_tenant
from senders import tasks
from senders import troubleshooting as ts
from senders.models import (
    READ_ONLY_VERTICALS,
    BusinessProfile,
    BusinessProfileSync,
    BusinessVertical,
    HistoryKind,
    PhoneNumber,
    ProfileSyncState,
)
from senders.services import graph, snapshots
from senders.services.onboarding import profile_update_from
from waba_portal.errors import Conflict, Invalid
from waba_portal.graph import errors as ge

logger = logging.getLogger(__name__)

# Meta's limits (NOTES §2: about 1-139; description 512 as PYWA and the live API have it).
LIMITS = {"about": 139, "address": 256, "description": 512, "email": 128}
WEBSITE_MAX = 256
WEBSITES_MAX = 2
TEXT_FIELDS = ("about", "address", "description", "email")
FIELDS = (*TEXT_FIELDS, "websites", "vertical")
# The verticals an update may send, in the order of Meta's list.
VERTICALS = tuple(v for v in BusinessVertical if v not in READ_ONLY_VERTICALS)

# A picture this large in pixels is refused before it is decoded (memory), and what is
# kept is scaled down to this side: WhatsApp shows profile pictures at 640 px.
PICTURE_MAX_PIXELS = 6000 * 6000
PICTURE_KEEP_SIDE = 1280
PICTURE_QUALITY = 90
# How to make a picture square: keep its middle, its top (or left) or its bottom (or
# right) part, or keep it as it is.
CROPS = ("center", "start", "end", "none")

SYNC_MESSAGE_MAX = 2000


class ProfileNotLiveYet(Exception):
    """Meta answered success, but reading the profile back shows other values."""

    def __init__(self, fields: Sequence[str]) -> None:
        super().__init__("Meta still shows other values for: " + ", ".join(fields))
        self.fields = list(fields)


# Errors after which the task tries again (bounded): Meta unavailable or throttling, or
# Meta still showing the old profile after it said it took the new one.
RETRYABLE_ERRORS = (
    ge.GraphTransientError,
    ge.GraphRateLimitError,
    ge.GraphOutcomeUnknown,
    ProfileNotLiveYet,
)

KIND_PROFILE_FAILED = "business_profile.failed"


def _failed_title(p: dict[str, Any]) -> str:
    return _("%(number)s: the business profile was not updated at Meta") % {"number": p["number"]}


def _failed_body(p: dict[str, Any]) -> str:
    entry = ts.get(str(p["problem"]))
    return " ".join([str(entry.title) + ".", str(entry.explanation), *map(str, entry.steps)])


notification_kind_register(KIND_PROFILE_FAILED, title=_failed_title, body=_failed_body)


class MetaError(Conflict):
    """Meta refused or did not answer a read the user asked for (with its entry)."""

    code = "meta_error"

    def __init__(self, problem: str, message: str) -> None:
        entry = ts.get(problem)
        super().__init__(
            _("Meta did not give the profile: %(problem)s. %(fix)s")
            % {"problem": entry.title, "fix": " ".join(str(s) for s in entry.steps)},
            details={"problem": problem, "meta_message": message[:SYNC_MESSAGE_MAX]},
        )
        self.problem = problem


# --- The values -------------------------------------------------------------------------


@dataclass(frozen=True)
class ProfileValues:
    about: str = ""
    address: str = ""
    description: str = ""
    email: str = ""
    websites: tuple[str, ...] = ()
    vertical: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "websites", tuple(self.websites))  # compared as tuples

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["websites"] = list(self.websites)
        return data


def _vertical(value: Any) -> str:
    text = str(value or "")
    return "" if text in READ_ONLY_VERTICALS else text


def values_of(row: BusinessProfile | BusinessProfileSync | None) -> ProfileValues:
    """The editable values of a profile row (Meta's or the edit); none: all empty."""
    if row is None:
        return ProfileValues()
    websites = row.websites if isinstance(row.websites, list) else []
    return ProfileValues(
        about=row.about,
        address=row.address,
        description=row.description,
        email=row.email,
        websites=tuple(str(w) for w in websites if w)[:WEBSITES_MAX],
        vertical=_vertical(row.vertical),
    )


def field_label(name: str) -> str:
    labels = {
        "about": _("About"),
        "address": _("Address"),
        "description": _("Description"),
        "email": _("E-mail"),
        "websites": _("Websites"),
        "vertical": _("Category"),
    }
    return labels.get(name.split(".")[0], name)


def _too_long(name: str, count: int, limit: int) -> str:
    return ngettext(
        "%(field)s has %(count)d character; shorten it to %(limit)d or fewer.",
        "%(field)s has %(count)d characters; shorten it to %(limit)d or fewer.",
        count,
    ) % {"field": field_label(name), "count": count, "limit": limit}


def _text(raw: Any) -> str | None:
    """Text as a form or JSON sends it, line breaks as one character; None if not text."""
    if raw is None:
        return ""
    if not isinstance(raw, str):
        return None
    return raw.replace("\r\n", "\n").replace("\r", "\n").strip()


def _websites(raw: Any, errors: dict[str, list[str]]) -> tuple[str, ...]:
    items = [raw] if isinstance(raw, str) else raw
    if items is None:
        return ()
    if not isinstance(items, list | tuple):
        errors["websites"] = [_("Send the websites as a list of up to two addresses.")]
        return ()
    sites: list[str] = []
    check = URLValidator(schemes=["http", "https"])
    for index, item in enumerate(items):
        key = f"websites.{index}"
        text = _text(item)
        if text is None:
            errors[key] = [_("Send each website as text.")]
            continue
        if not text:
            continue
        if len(text) > WEBSITE_MAX:
            errors[key] = [
                ngettext(
                    "This website address has %(count)d character; it may have at most %(limit)d.",
                    "This website address has %(count)d characters; it may have at most %(limit)d.",
                    len(text),
                )
                % {"count": len(text), "limit": WEBSITE_MAX}
            ]
            continue
        try:
            check(text)
        except ValidationError:
            errors[key] = [
                _(
                    "Enter the full address of the website, starting with https:// or "
                    "http://, such as https://www.example.com."
                )
            ]
            continue
        sites.append(text)
    if len(sites) > WEBSITES_MAX:
        errors["websites"] = [
            ngettext(
                "WhatsApp shows at most two websites; remove %(extra)d.",
                "WhatsApp shows at most two websites; remove %(extra)d.",
                len(sites) - WEBSITES_MAX,
            )
            % {"extra": len(sites) - WEBSITES_MAX}
        ]
    return tuple(sites)


def profile_clean(data: Mapping[str, Any], *, base: ProfileValues) -> ProfileValues:
    """The values of ``base`` with those given in ``data``, checked against Meta's rules.

    Raises :class:`Invalid` naming every field to fix (``details.fields``). A field not
    in ``data`` keeps its ``base`` value. About cannot be emptied (Meta takes 1 to 139
    characters); the category may be left unchosen (it is not sent then).
    """
    errors: dict[str, list[str]] = {}
    values = base.as_dict()
    for name in TEXT_FIELDS:
        if name not in data:
            continue
        text = _text(data[name])
        if text is None:
            errors[name] = [_("Send text for this field.")]
            continue
        values[name] = text
        if name == "about" and not text:
            errors[name] = [
                _(
                    "Write the About text: WhatsApp shows it under the business name "
                    "(1 to 139 characters)."
                )
            ]
        elif len(text) > LIMITS[name]:
            errors[name] = [_too_long(name, len(text), LIMITS[name])]
        elif name == "email" and text:
            try:
                EmailValidator()(text)
            except ValidationError:
                errors[name] = [_("Enter a valid e-mail address, such as support@example.com.")]
    if "websites" in data:
        values["websites"] = _websites(data["websites"], errors)
    if "vertical" in data:
        vertical = _text(data["vertical"])
        if vertical is None or (_vertical(vertical) and vertical not in VERTICALS):
            errors["vertical"] = [_("Choose a category from the list.")]
        else:
            values["vertical"] = _vertical(vertical)
    if errors:
        raise Invalid(
            _("Check the fields marked: %(fields)s.")
            % {"fields": ", ".join(dict.fromkeys(field_label(k) for k in errors))},
            code="invalid",
            details={"fields": errors},
        )
    values["websites"] = tuple(values["websites"])
    return ProfileValues(**values)


# --- Reads ------------------------------------------------------------------------------
# The page and the API show the same: the edit (or Meta's profile while there is none)
# and the edit's journey. They live here, beside the writes, as the profile's one room.


@dataclass(frozen=True)
class ProfileState:
    phone: PhoneNumber
    sync: BusinessProfileSync | None
    meta: BusinessProfile | None
    values: ProfileValues
    problem: ts.Problem | None = None
    # Read from Meta just now failed (the page still shows what it has).
    read_problem: ts.Problem | None = None
    # The edit differs from what Meta showed last (names of the fields).
    differs: list[str] = field(default_factory=list)

    @property
    def state(self) -> str:
        return self.sync.state if self.sync else ""

    @property
    def pending(self) -> bool:
        """Saved or sent: the page asks again until it is live or failed."""
        return self.state in (ProfileSyncState.SAVED, ProfileSyncState.SENT)

    @property
    def has_picture(self) -> bool:
        return bool(self.sync and self.sync.picture)


def profile_state(*, phone: PhoneNumber, read_problem: str = "") -> ProfileState:
    sync = BusinessProfileSync.objects.filter(phone_number=phone).first()
    meta = BusinessProfile.objects.filter(phone_number=phone).first()
    values = values_of(sync) if sync is not None else values_of(meta)
    differs: list[str] = []
    if sync is not None and meta is not None and meta.fetched_at is not None:
        at_meta = values_of(meta)
        differs = [f for f in FIELDS if getattr(values, f) != getattr(at_meta, f)]
    return ProfileState(
        phone=phone,
        sync=sync,
        meta=meta,
        values=values,
        problem=ts.get(sync.problem)
        if sync is not None and sync.problem and sync.state == ProfileSyncState.FAILED
        else None,
        read_problem=ts.get(read_problem) if read_problem else None,
        differs=differs,
    )


def profile_read_if_missing(*, phone: PhoneNumber) -> str:
    """Read the profile from Meta when we never did; the troubleshooting key if that
    failed (the page says so and offers "Refresh from Meta"), else ""."""
    if BusinessProfile.objects.filter(phone_number=phone, fetched_at__isnull=False).exists():
        return ""
    if not phone.waba.is_connected or not phone.waba.access_token:
        return ""  # the page says the account is not connected
    try:
        profile_refresh(actor=None, phone=phone, drop_failed=False)
    except MetaError as exc:
        return exc.problem
    return ""


# --- Writes -----------------------------------------------------------------------------


def _manager(actor: Membership) -> None:
    require_manager(actor, message=_("Only owners and admins can change the business profile."))


def _require_connected(phone: PhoneNumber) -> None:
    if not phone.waba.is_connected or not phone.waba.access_token:
        raise Conflict(
            _(
                "The WhatsApp Business Account of this number is not connected. Connect it "
                "again, then change its profile."
            ),
            code="not_connected",
        )


def _sync_row(phone: PhoneNumber) -> BusinessProfileSync:
    """The number's edit, locked; made from Meta's profile the first time."""
    meta = BusinessProfile.objects.filter(phone_number=phone).first()
    initial = values_of(meta).as_dict()
    row, _created = BusinessProfileSync.objects.get_or_create(
        phone_number=phone, defaults={**initial, "state": ProfileSyncState.LIVE}
    )
    return BusinessProfileSync.objects.select_for_update().get(pk=row.pk)


def _queue(row: BusinessProfileSync) -> None:
    tasks.business_profile_sync_task.delay_on_commit(
        require_tenant().pk, row.pk, row.edited_at.isoformat()
    )


def _restart(row: BusinessProfileSync, actor: Membership) -> None:
    row.state = ProfileSyncState.SAVED
    row.problem, row.error_message = "", ""
    row.attempts = 0
    row.edited_by = actor.user
    row.save()  # a new edited_at: the edit's new version


def profile_save(
    *, actor: Membership, phone: PhoneNumber, data: Mapping[str, Any], partial: bool = False
) -> tuple[BusinessProfileSync | None, list[str]]:
    """Keep the tenant's edit of the profile and send it to Meta; returns the edit and
    the names of the fields it changed (none: nothing is sent).

    ``partial`` changes only the fields in ``data`` (PATCH); otherwise a field left out
    is emptied (the page's form, PUT).
    """
    _manager(actor)
    _require_connected(phone)
    with transaction.atomic():
        row = _sync_row(phone)
        before = values_of(row)
        base = before if partial else ProfileValues()
        if not partial:
            data = {"about": "", **{k: v for k, v in data.items() if k in FIELDS}}
        values = profile_clean(data, base=base)
        if not values.vertical and before.vertical:
            # Meta cannot unset a category: leaving it out keeps the one it has.
            values = replace(values, vertical=before.vertical)
        changed = [f for f in FIELDS if getattr(values, f) != getattr(before, f)]
        if not changed:
            return row, []
        for name, value in values.as_dict().items():
            setattr(row, name, value)
        _restart(row, actor)
        audit_record(
            actor=actor.user,
            action="business_profile.saved",
            target=phone,
            metadata={"fields": ", ".join(field_label(f) for f in changed)},
        )
        _queue(row)
    return row, changed


@dataclass(frozen=True)
class CheckedPicture:
    """A logo that passed the checks, as it is kept and sent: JPEG bytes."""

    data: bytes
    width: int
    height: int
    original_width: int
    original_height: int

    @property
    def square(self) -> bool:
        return self.width == self.height

    @property
    def cropped(self) -> bool:
        return (self.width, self.height) != (self.original_width, self.original_height) and (
            self.square
        )


def _picture_refused(code: str, message: str) -> Invalid:
    return Invalid(message, field="picture", code=code)


def _corrupt() -> Invalid:
    return _picture_refused(
        "picture_corrupt",
        _(
            "The file could not be read as a picture: it is damaged or incomplete. Open it "
            "in an image editor, save it again as JPEG and upload that file."
        ),
    )


def _too_large(size: int) -> Invalid:
    limit = int(settings.PROFILE_PICTURE_MAX_BYTES)
    return _picture_refused(
        "picture_too_large",
        _(
            "The file is %(size)s; a profile picture may have at most %(limit)s. Save it "
            "with fewer pixels or a lower JPEG quality and upload it again."
        )
        % {"size": filesizeformat(size), "limit": filesizeformat(limit)},
    )


def _too_many_pixels() -> Invalid:
    return _picture_refused(
        "picture_too_many_pixels",
        _(
            "The picture has too many pixels to be processed; make it at most 6000 × "
            "6000 pixels and upload it again."
        ),
    )


def picture_check(data: bytes) -> tuple[int, int]:
    """The size in pixels of a logo judged by its bytes, or :class:`Invalid` saying why it
    cannot be one (each reason with its own ``code`` and words)."""
    if len(data) > int(settings.PROFILE_PICTURE_MAX_BYTES):
        raise _too_large(len(data))
    if not data:
        raise _corrupt()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                kind, (width, height) = probe.format, probe.size
                probe.verify()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels() from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise _corrupt() from None
    if kind != "JPEG":
        raise _picture_refused(
            "picture_not_jpeg",
            _(
                "The file is a %(format)s image, whatever its name says; WhatsApp takes "
                "profile pictures as JPEG only. Export or save it as JPEG (.jpg) and upload "
                "it again."
            )
            % {"format": kind or _("unknown")},
        )
    if width * height > PICTURE_MAX_PIXELS:
        raise _too_many_pixels()
    least = int(settings.PROFILE_PICTURE_MIN_PIXELS)
    if width < least or height < least:
        raise _picture_refused(
            "picture_too_small",
            _(
                "The picture is %(width)d × %(height)d pixels; WhatsApp needs at least "
                "%(least)d × %(least)d. Upload a larger picture."
            )
            % {"width": width, "height": height, "least": least},
        )
    return width, height


def picture_prepare(data: bytes, *, crop: str = "center") -> CheckedPicture:
    """Check a logo (:func:`picture_check`), crop it to a square as asked (``CROPS``),
    scale it down to ``PICTURE_KEEP_SIDE`` and encode it as a clean JPEG."""
    if crop not in CROPS:
        raise Invalid(_("Choose how to crop the picture from the list."), field="crop")
    picture_check(data)
    try:
        with Image.open(io.BytesIO(data)) as source:
            source.load()
            image = ImageOps.exif_transpose(source)
    except (OSError, SyntaxError, ValueError, EOFError):
        raise _corrupt() from None
    original = image.size
    width, height = original
    if width != height and crop != "none":
        side = min(width, height)
        offset = {"center": 0.5, "start": 0.0, "end": 1.0}[crop]
        left = round((width - side) * offset)
        top = round((height - side) * offset)
        image = image.crop((left, top, left + side, top + side))
    if max(image.size) > PICTURE_KEEP_SIDE:
        image.thumbnail((PICTURE_KEEP_SIDE, PICTURE_KEEP_SIDE), Image.Resampling.LANCZOS)
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=PICTURE_QUALITY, optimize=True)
    return CheckedPicture(
        data=out.getvalue(),
        width=image.size[0],
        height=image.size[1],
        original_width=original[0],
        original_height=original[1],
    )


def _read_upload(upload: UploadedFile) -> bytes:
    """The uploaded bytes; a file over the limit is refused before it is read."""
    if (upload.size or 0) > int(settings.PROFILE_PICTURE_MAX_BYTES):
        raise _too_large(upload.size or 0)
    return b"".join(upload.chunks())


def _picture_name(phone: PhoneNumber) -> str:
    return f"{require_tenant().pk}-{phone.pk}-{secrets.token_hex(8)}.jpg"


def _replace_picture(row: BusinessProfileSync, data: bytes, phone: PhoneNumber) -> None:
    """Keep ``data`` as the row's picture; the file it replaces goes after commit."""
    old = (row.picture.name or "") if row.picture else ""
    row.picture.save(_picture_name(phone), ContentFile(data), save=False)
    if old and old != row.picture.name:
        storage = row.picture.storage
        transaction.on_commit(lambda: storage.delete(old))


def _drop_picture(row: BusinessProfileSync) -> None:
    old, storage = row.picture.name or "", row.picture.storage
    row.picture = ""  # type: ignore[assignment]
    transaction.on_commit(lambda: storage.delete(old))


def profile_picture_upload(
    *,
    actor: Membership,
    phone: PhoneNumber,
    upload: UploadedFile | None,
    crop: str = "center",
) -> tuple[BusinessProfileSync, CheckedPicture]:
    """Check and keep a new logo and send it to Meta with the profile."""
    _manager(actor)
    _require_connected(phone)
    if upload is None:
        raise Invalid(
            _("Choose a JPEG picture to upload."), field="picture", code="picture_missing"
        )
    picture = picture_prepare(_read_upload(upload), crop=crop)
    with transaction.atomic():
        row = _sync_row(phone)
        _replace_picture(row, picture.data, phone)
        row.picture_handle = ""
        row.picture_changed = True
        _restart(row, actor)
        audit_record(
            actor=actor.user,
            action="business_profile.picture_uploaded",
            target=phone,
            metadata={
                "size": f"{picture.width} × {picture.height}",
                "cropped": picture.cropped,
            },
        )
        _queue(row)
    return row, picture


def profile_retry(*, actor: Membership, phone: PhoneNumber) -> BusinessProfileSync:
    """Send a failed edit again (a logo is uploaded again: its handle may be stale)."""
    _manager(actor)
    _require_connected(phone)
    with transaction.atomic():
        row = BusinessProfileSync.objects.select_for_update().filter(phone_number=phone).first()
        if row is None or row.state != ProfileSyncState.FAILED:
            raise Conflict(
                _("Only a profile change that failed can be retried; this one has not failed."),
                code="not_failed",
            )
        row.picture_handle = ""
        _restart(row, actor)
        audit_record(actor=actor.user, action="business_profile.retried", target=phone)
        _queue(row)
    return row


def _picture_download(client: Any, url: str) -> bytes | None:
    """Meta's profile picture as a clean JPEG for the page, or None if it cannot be had."""
    try:
        data = client.media_download(url)
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            if image.width * image.height > PICTURE_MAX_PIXELS:
                return None
            picture = image.convert("RGB") if image.mode not in ("RGB", "L") else image
            out = io.BytesIO()
            picture.save(out, format="JPEG", quality=PICTURE_QUALITY)
            return out.getvalue()
    except (ge.GraphError, ValueError, OSError, SyntaxError, Image.DecompressionBombError):
        logger.warning("could not download the profile picture of a number", exc_info=True)
        return None


def _problem_for(exc: ge.GraphError, *, picture: bool = False) -> str:
    """The troubleshooting key for a Meta error on the profile (or its picture's upload)."""
    text = f"{exc.message or ''} {exc.details or ''}".lower()
    if isinstance(exc, ge.GraphAuthError):
        return ts.TOKEN_INVALID
    if isinstance(exc, ge.AccountRestrictedError):
        return ts.WABA_DISABLED
    if isinstance(exc, ge.GraphPermissionError):
        return ts.TOKEN_INVALID
    if isinstance(exc, ge.GraphRateLimitError | ge.GraphTransientError | ge.GraphOutcomeUnknown):
        return ts.META_UNAVAILABLE
    if picture or "profile_picture" in text or exc.code == 131053:
        return ts.PROFILE_PICTURE_REJECTED
    if isinstance(exc, ge.GraphInvalidRequestError) and not isinstance(
        exc, ge.PhoneNotRegisteredError | ge.GraphNotFoundError
    ):
        return ts.PROFILE_REJECTED
    return ts.problem_for_graph_error(exc, step="sync")


def _meta_words(exc: BaseException) -> str:
    if isinstance(exc, ge.GraphError):
        words = exc.user_msg or exc.details or exc.message
        return str(words or exc)[:SYNC_MESSAGE_MAX]
    return str(exc)[:SYNC_MESSAGE_MAX]


def _apply_meta(
    phone: PhoneNumber, data: Mapping[str, Any]
) -> tuple[BusinessProfile, dict[str, Any]]:
    """Keep what Meta reported; returns the row and its values before."""
    profile, _created = BusinessProfile.objects.get_or_create(phone_number=phone)
    before = {**values_of(profile).as_dict(), "profile_picture_url": profile.profile_picture_url}
    profile_update_from(profile, dict(data))
    return profile, before


def _history(
    phone: PhoneNumber, before: Mapping[str, Any], profile: BusinessProfile, picture: str
) -> None:
    """One timeline row per field that changed at Meta (the picture by its file name)."""
    after = values_of(profile).as_dict()
    for name in FIELDS:
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        if name == "websites":
            old, new = ", ".join(old or []), ", ".join(new or [])
        snapshots.history_record(
            waba=phone.waba,
            phone=phone,
            kind=HistoryKind.PROFILE,
            old=old,
            new=new,
            source="user",
            detail={"field": name},
        )
    if before.get("profile_picture_url") != profile.profile_picture_url:
        snapshots.history_record(
            waba=phone.waba,
            phone=phone,
            kind=HistoryKind.PROFILE,
            old="",
            new=picture.rsplit("/", 1)[-1] or profile.profile_picture_url,
            source="user",
            detail={"field": "profile_picture"},
        )


def profile_refresh(
    *, actor: Membership | None, phone: PhoneNumber, drop_failed: bool = True
) -> ProfileState:
    """Read the profile from Meta and keep it; the edit follows when nothing of it is on
    its way: when it is live, and (``drop_failed``, "Refresh from Meta") when it failed,
    the failed change being dropped for what Meta shows.

    Raises :class:`MetaError` (with the troubleshooting key) when Meta does not give it.
    """
    if actor is not None:
        _manager(actor)
    _require_connected(phone)
    client = graph.graph_client(token=str(phone.waba.access_token or ""))
    picture: bytes | None = None
    try:
        data = client.business_profile_get(phone.phone_number_id)
        url = str(data.get("profile_picture_url") or "")
        known = BusinessProfile.objects.filter(phone_number=phone).first()
        row = BusinessProfileSync.objects.filter(phone_number=phone).first()
        if url and (known is None or known.profile_picture_url != url or not (row and row.picture)):
            picture = _picture_download(client, url)
    except ge.GraphError as exc:
        raise MetaError(_problem_for(exc), _meta_words(exc)) from exc
    finally:
        client.close()
    with transaction.atomic():
        profile, _before = _apply_meta(phone, data)
        row = BusinessProfileSync.objects.select_for_update().filter(phone_number=phone).first()
        settled = (
            (ProfileSyncState.LIVE, ProfileSyncState.FAILED)
            if drop_failed
            else (ProfileSyncState.LIVE,)
        )
        follows = row is None or row.state in settled
        if follows and (row is not None or picture is not None):
            if row is None:
                row = BusinessProfileSync(phone_number=phone)
            for name, value in values_of(profile).as_dict().items():
                setattr(row, name, value)
            if picture is not None:
                _replace_picture(row, picture, phone)
            elif not profile.profile_picture_url and row.picture:
                _drop_picture(row)
            row.state, row.problem, row.error_message = ProfileSyncState.LIVE, "", ""
            row.picture_changed, row.picture_handle = False, ""
            row.live_at = profile.fetched_at
            row.save()
        if actor is not None:
            audit_record(actor=actor.user, action="business_profile.refreshed", target=phone)
    return profile_state(phone=phone)


# --- Sending the edit to Meta (the task's body) ---------------------------------------


def _version(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None


def _payload(row: BusinessProfileSync, handle: str) -> dict[str, Any]:
    """What is sent: every value (empty ones clear Meta's), except an empty About (Meta
    cannot empty it) and an unchosen category; the logo's handle when it is new."""
    values = values_of(row)
    body: dict[str, Any] = {
        name: getattr(values, name) for name in TEXT_FIELDS if name != "about" or values.about
    }
    body["websites"] = list(values.websites)
    if values.vertical:
        body["vertical"] = values.vertical
    if handle:
        body["profile_picture_handle"] = handle
    return body


def _norm(name: str, value: Any) -> Any:
    if name == "websites":
        return [str(w).rstrip("/") for w in value or []]
    if name == "email":
        return str(value or "").lower()
    return str(value or "").strip()


def _not_shown(sent: Mapping[str, Any], data: Mapping[str, Any], old_url: str) -> list[str]:
    """The fields sent that Meta's answer does not show (yet)."""
    missing = [
        name
        for name in FIELDS
        if name in sent and _norm(name, sent[name]) != _norm(name, data.get(name))
    ]
    if sent.get("profile_picture_handle"):
        url = str(data.get("profile_picture_url") or "")
        if not url or url == old_url:
            missing.append("profile_picture")
    return missing


def _fail(sync_pk: int, version: datetime, problem: str, message: str) -> bool:
    """Mark the edit (this version of it) failed and tell the managers."""
    with transaction.atomic():
        row = (
            BusinessProfileSync.objects.select_for_update()
            .select_related("phone_number")
            .filter(pk=sync_pk, edited_at=version)
            .first()
        )
        if row is None:
            return False  # a newer edit is on its way with its own task
        row.state, row.problem = ProfileSyncState.FAILED, problem
        row.error_message = message[:SYNC_MESSAGE_MAX]
        row.save(update_fields=["state", "problem", "error_message"])
        phone = row.phone_number
        notify_managers_of(
            kind=KIND_PROFILE_FAILED,
            params={"number": str(phone), "problem": problem},
            url=reverse(
                "senders:number_profile",
                kwargs={"tenant_slug": require_tenant().slug, "phone_pk": phone.pk},
            ),
            level=NotificationLevel.WARNING,
        )
    return True


def profile_push(*, sync_pk: int, version: str) -> ProfileSyncState | None:
    """Send the edit to Meta and mark it live once Meta shows it (one try).

    Returns the edit's state after this try, or None when this version of the edit is
    no longer the row's (a newer one has its own task). Raises a
    :data:`RETRYABLE_ERRORS` error for the task to retry.
    """
    when = _version(version)
    if when is None:
        return None
    with transaction.atomic():
        row = (
            BusinessProfileSync.objects.select_for_update()
            .select_related("phone_number__waba")
            .filter(pk=sync_pk, edited_at=when)
            .first()
        )
        if row is None or row.state not in (ProfileSyncState.SAVED, ProfileSyncState.SENT):
            return None
        row.state, row.sent_at = ProfileSyncState.SENT, timezone.now()
        row.attempts += 1
        row.save(update_fields=["state", "sent_at", "attempts"])
    phone = row.phone_number
    if not phone.waba.is_connected or not phone.waba.access_token:
        _fail(sync_pk, when, ts.DISCONNECTED_BY_META, "")
        return ProfileSyncState.FAILED
    old_url = (
        BusinessProfile.objects.filter(phone_number=phone)
        .values_list("profile_picture_url", flat=True)
        .first()
        or ""
    )
    client = graph.graph_client(token=str(phone.waba.access_token))
    uploading = False
    try:
        handle = row.picture_handle if row.picture_changed else ""
        if row.picture_changed and row.picture and not handle:
            uploading = True
            with row.picture.open("rb") as fh:
                data = fh.read()
            handle = client.resumable_upload(data, "image/jpeg", file_name="profile.jpg")
            BusinessProfileSync.objects.filter(pk=sync_pk, edited_at=when).update(
                picture_handle=handle
            )
            uploading = False
        sent = _payload(row, handle)
        client.business_profile_update(phone.phone_number_id, **sent)
        answer = client.business_profile_get(phone.phone_number_id)
    except RETRYABLE_ERRORS as exc:
        BusinessProfileSync.objects.filter(pk=sync_pk, edited_at=when).update(
            error_message=_meta_words(exc)
        )
        raise
    except ge.GraphError as exc:
        _fail(sync_pk, when, _problem_for(exc, picture=uploading), _meta_words(exc))
        return ProfileSyncState.FAILED
    except OSError as exc:  # the stored picture is gone: it must be uploaded again
        logger.warning("profile picture of edit %s unreadable: %s", sync_pk, exc)
        _fail(sync_pk, when, ts.PROFILE_PICTURE_REJECTED, "")
        return ProfileSyncState.FAILED
    finally:
        client.close()
    with transaction.atomic():
        profile, before = _apply_meta(phone, answer)
        missing = _not_shown(sent, answer, old_url)
        if missing:
            BusinessProfileSync.objects.filter(pk=sync_pk, edited_at=when).update(
                error_message=_("Meta still shows other values for: %(fields)s")
                % {"fields": ", ".join(field_label(f) for f in missing)}
            )
        else:
            live = (
                BusinessProfileSync.objects.select_for_update().filter(pk=sync_pk, edited_at=when)
            ).first()
            if live is None:
                return None
            live.state, live.live_at = ProfileSyncState.LIVE, timezone.now()
            live.problem, live.error_message = "", ""
            live.picture_changed = False
            live.save(
                update_fields=["state", "live_at", "problem", "error_message", "picture_changed"]
            )
            _history(phone, before, profile, (live.picture.name or "") if live.picture else "")
    if missing:
        raise ProfileNotLiveYet(missing)
    return ProfileSyncState.LIVE


def profile_push_give_up(*, sync_pk: int, version: str, error: BaseException) -> None:
    """The retries ran out: the edit fails with why, rather than staying "sent"."""
    when = _version(version)
    if when is None:
        return
    problem = (
        ts.PROFILE_NOT_APPLIED if isinstance(error, ProfileNotLiveYet) else ts.META_UNAVAILABLE
    )
    _fail(sync_pk, when, problem, _meta_words(error))
