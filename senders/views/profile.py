"""A number's business profile page: the fields, the logo, and the edit's way to Meta.

Views are thin: parse → service → render. Refusals are answered by
``waba_portal.middleware.ServiceErrorMiddleware`` (403 for agents, a message on the page
for the rest); only field errors are caught, to show them beside their fields. With
htmx the forms answer the editor in place and the state box asks again every few
seconds while the edit is on its way, so nobody reloads to see it go live.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Membership
from accounts.permissions import require_manager, tenant_view
from senders import selectors
from senders.models import BusinessVertical, PhoneNumber, ProfileSyncState
from senders.services import business_profile as profiles
from waba_portal.errors import Invalid
from waba_portal.middleware import refusals_return_to

# After this long on its way, the state box says it takes longer and asks less often.
SLOW_AFTER = timedelta(minutes=2)


def _membership(request: HttpRequest) -> Membership:
    return request.membership  # type: ignore[attr-defined,no-any-return]


def _htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _require_manager(request: HttpRequest) -> None:
    # Checked before the form is read, so an agent gets 403 whatever it posts.
    require_manager(
        _membership(request),
        message=_("Only owners and admins can change the business profile."),
    )


def _to_page(request: HttpRequest, phone: PhoneNumber) -> HttpResponse:
    slug = request.tenant.slug  # type: ignore[attr-defined]
    return redirect("senders:number_profile", tenant_slug=slug, phone_pk=phone.pk)


# --- What the templates get ---------------------------------------------------------------


def _fields(values: dict[str, Any], errors: dict[str, list[str]]) -> list[dict[str, Any]]:
    websites = [*(values.get("websites") or []), "", ""]
    rows = [
        (
            "about",
            _("About"),
            values.get("about", ""),
            _("Shown under the business name in WhatsApp. 1 to 139 characters."),
            profiles.LIMITS["about"],
            "textarea",
        ),
        (
            "description",
            _("Description"),
            values.get("description", ""),
            _("What the business does, on its WhatsApp profile. Up to 512 characters."),
            profiles.LIMITS["description"],
            "textarea",
        ),
        (
            "address",
            _("Address"),
            values.get("address", ""),
            _("Where customers find the business. Up to 256 characters."),
            profiles.LIMITS["address"],
            "textarea",
        ),
        (
            "email",
            _("E-mail"),
            values.get("email", ""),
            _("Where customers can write to. Up to 128 characters."),
            profiles.LIMITS["email"],
            "email",
        ),
        (
            "website_1",
            _("Website"),
            websites[0],
            _("The full address, starting with https://. Up to 256 characters."),
            profiles.WEBSITE_MAX,
            "url",
        ),
        (
            "website_2",
            _("Second website (optional)"),
            websites[1],
            "",
            profiles.WEBSITE_MAX,
            "url",
        ),
    ]
    keys = {"website_1": ("websites.0", "websites"), "website_2": ("websites.1",)}
    out = []
    for name, label, value, help_text, limit, kind in rows:
        found = [m for key in keys.get(name, (name,)) for m in errors.get(key, [])]
        out.append(
            {
                "name": name,
                "label": label,
                "value": value,
                "help": help_text,
                "maxlength": limit,
                "kind": kind,
                "errors": found,
                "required": name == "about",
            }
        )
    return out


def _verticals(chosen: str) -> list[tuple[str, str, bool]]:
    choices = sorted(
        ((v.value, str(v.label)) for v in profiles.VERTICALS if v != BusinessVertical.OTHER),
        key=lambda c: c[1].lower(),
    )
    choices.append((BusinessVertical.OTHER.value, str(BusinessVertical.OTHER.label)))
    return [(value, label, value == chosen) for value, label in choices]


CROP_CHOICES = (
    ("center", gettext_lazy("Keep the middle")),
    ("start", gettext_lazy("Keep the top (or left) part")),
    ("end", gettext_lazy("Keep the bottom (or right) part")),
    ("none", gettext_lazy("Do not crop")),
)


def picture_url(request: HttpRequest, state: profiles.ProfileState) -> str:
    if not state.has_picture or state.sync is None:
        return ""
    url = reverse(
        "senders:number_profile_picture",
        kwargs={"tenant_slug": request.tenant.slug, "phone_pk": state.phone.pk},  # type: ignore[attr-defined]
    )
    return f"{url}?v={int(state.sync.edited_at.timestamp() * 1000)}"


def _state_context(state: profiles.ProfileState) -> dict[str, Any]:
    sync = state.sync
    since = (sync.sent_at or sync.edited_at) if sync else None
    slow = bool(state.pending and since and timezone.now() - since > SLOW_AFTER)
    return {
        "profile": state,
        "sync": sync,
        "slow": slow,
        "poll_every": "10s" if slow else "2s",
        "max_attempts": int(settings.PROFILE_SYNC_MAX_RETRIES) + 1,
        "differs": [profiles.field_label(f) for f in state.differs]
        if sync is not None and sync.state != ProfileSyncState.LIVE
        else [],
    }


def _editor_context(
    request: HttpRequest,
    phone: PhoneNumber,
    *,
    read_problem: str = "",
    posted: dict[str, Any] | None = None,
    errors: dict[str, list[str]] | None = None,
    notice: str = "",
) -> dict[str, Any]:
    state = profiles.profile_state(phone=phone, read_problem=read_problem)
    values = posted if posted is not None else state.values.as_dict()
    errors = errors or {}
    return {
        "phone": phone,
        **_state_context(state),
        "fields": _fields(values, errors),
        "verticals": _verticals(values.get("vertical") or ""),
        "chosen_vertical": state.values.vertical,
        "vertical_errors": errors.get("vertical", []),
        "picture_errors": errors.get("picture", []) + errors.get("crop", []),
        "crops": CROP_CHOICES,
        "picture_url": picture_url(request, state),
        "connected": bool(phone.waba.is_connected and phone.waba.access_token),
        "notice": notice,
        "has_errors": bool(errors),
    }


def _editor(request: HttpRequest, phone: PhoneNumber, **kwargs: Any) -> HttpResponse:
    """The whole page, or for htmx the editor alone (htmx swaps only 2xx answers, so a
    form with errors is a 200 for it and a 400 for a plain post)."""
    if _htmx(request):
        template, status = "senders/_profile_editor.html", 200
    else:
        template, status = "senders/number_profile.html", 400 if kwargs.get("errors") else 200
    return render(request, template, _editor_context(request, phone, **kwargs), status=status)


def _state_box(request: HttpRequest, phone: PhoneNumber) -> HttpResponse:
    state = profiles.profile_state(phone=phone)
    return render(request, "senders/_profile_state.html", {"phone": phone, **_state_context(state)})


def _posted(request: HttpRequest) -> dict[str, Any]:
    post = request.POST
    return {
        "about": post.get("about", ""),
        "description": post.get("description", ""),
        "address": post.get("address", ""),
        "email": post.get("email", ""),
        "websites": [post.get("website_1", ""), post.get("website_2", "")],
        "vertical": post.get("vertical", ""),
    }


# --- Pages --------------------------------------------------------------------------------


@tenant_view()
@require_http_methods(["GET", "HEAD", "POST"])
@refusals_return_to("senders:number_profile", "phone_pk")
def number_profile(request: HttpRequest, phone_pk: int) -> HttpResponse:
    """The profile page (GET); saving its fields (POST)."""
    phone = selectors.phone_access(phone_pk=phone_pk)
    if request.method != "POST":
        return _editor(request, phone, read_problem=profiles.profile_read_if_missing(phone=phone))
    _require_manager(request)
    data = _posted(request)
    try:
        _row, changed = profiles.profile_save(actor=_membership(request), phone=phone, data=data)
    except Invalid as exc:
        fields = exc.details.get("fields")
        if not fields:
            raise
        return _editor(request, phone, posted=data, errors=fields)
    notice = (
        _("Saved here. The state below says how far it got to Meta.")
        if changed
        else _("Nothing changed, so nothing was sent to Meta.")
    )
    if _htmx(request):
        return _editor(request, phone, notice=notice)
    messages.success(request, notice)
    return _to_page(request, phone)


@tenant_view()
@require_GET
def number_profile_state(request: HttpRequest, phone_pk: int) -> HttpResponse:
    """The state box alone: asked for every few seconds while the edit is on its way."""
    return _state_box(request, selectors.phone_access(phone_pk=phone_pk))


@tenant_view()
@require_http_methods(["GET", "HEAD", "POST"])
@refusals_return_to("senders:number_profile", "phone_pk")
def number_profile_picture(request: HttpRequest, phone_pk: int) -> HttpResponseBase:
    """The logo as kept here, for this tenant's members only (GET); a new one (POST)."""
    phone = selectors.phone_access(phone_pk=phone_pk)
    if request.method != "POST":
        return picture_response(phone)
    _require_manager(request)
    try:
        _row, picture = profiles.profile_picture_upload(
            actor=_membership(request),
            phone=phone,
            upload=request.FILES.get("picture"),
            crop=request.POST.get("crop") or "center",
        )
    except Invalid as exc:
        if exc.field not in ("picture", "crop"):
            raise
        return _editor(request, phone, errors={str(exc.field): [exc.message]})
    if picture.cropped:
        notice = _(
            "The picture was cropped to a square of %(side)d × %(side)d pixels and is being "
            "sent to Meta."
        ) % {"side": picture.width}
    elif not picture.square:
        notice = _(
            "The picture is not square; WhatsApp shows the middle of it in a circle. It is "
            "being sent to Meta."
        )
    else:
        notice = _("The picture is being sent to Meta.")
    if _htmx(request):
        return _editor(request, phone, notice=notice)
    messages.success(request, notice)
    return _to_page(request, phone)


def picture_response(phone: PhoneNumber) -> HttpResponseBase:
    """The number's logo as a JPEG (private to the tenant), or 204 when it has none."""
    row = profiles.profile_state(phone=phone).sync
    if row is None or not row.picture:
        return HttpResponse(status=204)
    try:
        handle = row.picture.open("rb")
    except OSError:
        return HttpResponse(status=204)
    response = FileResponse(handle, content_type="image/jpeg")
    response["Content-Disposition"] = 'inline; filename="profile-picture.jpg"'
    response["Cache-Control"] = "private, max-age=3600"
    return response


@tenant_view()
@require_POST
@refusals_return_to("senders:number_profile", "phone_pk")
def number_profile_retry(request: HttpRequest, phone_pk: int) -> HttpResponse:
    phone = selectors.phone_access(phone_pk=phone_pk)
    profiles.profile_retry(actor=_membership(request), phone=phone)
    if _htmx(request):
        return _state_box(request, phone)
    messages.success(request, _("The profile is being sent to Meta again."))
    return _to_page(request, phone)


@tenant_view()
@require_POST
@refusals_return_to("senders:number_profile", "phone_pk")
def number_profile_refresh(request: HttpRequest, phone_pk: int) -> HttpResponse:
    """Read the profile from Meta now (a refusal or Meta's error says what to do)."""
    phone = selectors.phone_access(phone_pk=phone_pk)
    profiles.profile_refresh(actor=_membership(request), phone=phone)
    messages.success(request, _("The profile was read from Meta just now."))
    return _to_page(request, phone)
