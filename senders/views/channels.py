"""A number's channel settings page: the settings, and the members' roles on the channel.

Owners and admins change them; agents read them and see their own role. Both forms
answer htmx in place (the settings box, the roles table and a status line); without
htmx they redirect back to the page with a message. The rules are the service's
(``senders.services.channels``); a refusal is shown beside its field.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts import selectors as account_selectors
from accounts.models import Membership
from accounts.permissions import require_manager, tenant_view
from senders import selectors
from senders.forms import ChannelMemberForm, ChannelSettingsForm
from senders.models import ChannelRole, ChannelSettings, PhoneNumber
from senders.services import channels
from waba_portal.errors import Invalid
from waba_portal.middleware import refusals_return_to


def _membership(request: HttpRequest) -> Membership:
    return request.membership  # type: ignore[attr-defined,no-any-return]


def _htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _refuse_agents(request: HttpRequest) -> None:
    require_manager(
        _membership(request), message=_("Only owners and admins can change channel settings.")
    )


def _add_errors(form: Any, exc: Invalid) -> None:
    """Every field the service refused, beside its field (the rest above the form)."""
    fields = exc.details.get("fields") or {exc.field: [exc.message]}
    for field, errors in fields.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)


def _initial(channel: ChannelSettings) -> dict[str, Any]:
    initial = {f: getattr(channel, f) for f in channels.UPDATABLE_FIELDS if f != "teams"}
    initial["teams"] = list(channel.teams.values_list("team_id", flat=True))
    return initial


def _tariffs(channel: ChannelSettings) -> list[tuple[str, str]]:
    """The tariffs offered, and the channel's own when it is no longer offered."""
    choices = channels.tariff_choices()
    if channel.tariff and channel.tariff not in dict(choices):
        choices.append(
            (channel.tariff, _("%(tariff)s (no longer offered)") % {"tariff": channel.tariff})
        )
    return choices


def _context(
    request: HttpRequest,
    phone: PhoneNumber,
    channel: ChannelSettings,
    *,
    form: ChannelSettingsForm | None = None,
    member_form: ChannelMemberForm | None = None,
    saved: str = "",
    roles_status: str = "",
) -> dict[str, Any]:
    membership = _membership(request)
    teams = account_selectors.team_list()
    if form is None:
        form = ChannelSettingsForm(initial=_initial(channel), teams=teams)
    own = selectors.channel_access_for(membership, channel)
    return {
        "phone": phone,
        "channel": channel,
        "form": form,
        "member_form": member_form,
        "can_manage": membership.can_manage,
        "my_access": own,
        "tariffs": _tariffs(channel),
        "tariff_label": channels.tariff_label(channel.tariff),
        "teams": teams,
        "channel_team_names": [row.team.name for row in channel.teams.select_related("team")],
        "access_table": selectors.channel_access_table(channel=channel),
        "roles": ChannelRole.choices,
        "days_min": channels.AUTO_RESOLVE_MIN_DAYS,
        "days_max": channels.AUTO_RESOLVE_MAX_DAYS,
        "name_max": channels.NAME_MAX_LENGTH,
        "display_name_max": channels.DISPLAY_NAME_MAX_LENGTH,
        "saved": saved,
        "roles_status": roles_status,
    }


def _to_page(request: HttpRequest, phone: PhoneNumber) -> HttpResponse:
    return redirect(
        "senders:number_channel",
        tenant_slug=request.tenant.slug,  # type: ignore[attr-defined]
        phone_pk=phone.pk,
    )


@tenant_view()
@require_http_methods(["GET", "POST"])
def number_channel(request: HttpRequest, phone_pk: int) -> HttpResponse:
    phone = selectors.phone_access(phone_pk=phone_pk)
    channel = channels.channel_ensure(phone=phone)
    if request.method != "POST":
        return render(request, "senders/channel.html", _context(request, phone, channel))
    _refuse_agents(request)
    form = ChannelSettingsForm(request.POST, teams=account_selectors.team_list())
    saved = ""
    if form.is_valid():
        try:
            channel = channels.channel_update(
                actor=_membership(request), channel=channel, changes=form.cleaned_data
            )
        except Invalid as exc:
            _add_errors(form, exc)
        else:
            saved = _("The channel settings are saved.")
    if saved and not _htmx(request):
        messages.success(request, saved)
        return _to_page(request, phone)
    context = _context(request, phone, channel, form=None if saved else form, saved=saved)
    template = "senders/_channel_settings_answer.html" if _htmx(request) else "senders/channel.html"
    return render(request, template, context, status=200 if saved else 400)


def _roles_answer(
    request: HttpRequest,
    phone: PhoneNumber,
    channel: ChannelSettings,
    form: ChannelMemberForm,
    done: str,
) -> HttpResponse:
    if not _htmx(request):
        if done:
            messages.success(request, done)
        else:
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, str(error))
        return _to_page(request, phone)
    context = _context(request, phone, channel, member_form=form, roles_status=done)
    return render(
        request, "senders/_channel_roles_answer.html", context, status=200 if done else 400
    )


@refusals_return_to("senders:number_channel", "phone_pk")
@tenant_view()
@require_POST
def number_channel_members(request: HttpRequest, phone_pk: int) -> HttpResponse:
    """Give a member a role on the channel, or change it (membership + role)."""
    phone = selectors.phone_access(phone_pk=phone_pk)
    _refuse_agents(request)
    channel = channels.channel_ensure(phone=phone)
    form = ChannelMemberForm(request.POST, members=account_selectors.member_list())
    done = ""
    if form.is_valid():
        member: Membership = form.cleaned_data["membership"]
        try:
            row = channels.channel_member_set(
                actor=_membership(request),
                channel=channel,
                membership=member,
                role=form.cleaned_data["role"],
            )
        except Invalid as exc:
            _add_errors(form, exc)
        else:
            done = _("%(member)s is now %(role)s on this channel.") % {
                "member": member.user.get_full_name(),
                "role": row.get_role_display(),
            }
    return _roles_answer(request, phone, channel, form, done)


@refusals_return_to("senders:number_channel", "phone_pk")
@tenant_view()
@require_POST
def number_channel_member_remove(request: HttpRequest, phone_pk: int) -> HttpResponse:
    """Take a member's own role on the channel away (back to what all users or teams get)."""
    phone = selectors.phone_access(phone_pk=phone_pk)
    _refuse_agents(request)
    channel = channels.channel_ensure(phone=phone)
    form = ChannelMemberForm(request.POST, members=account_selectors.member_list())
    done = ""
    if form.is_valid():
        member: Membership = form.cleaned_data["membership"]
        removed = channels.channel_member_remove(
            actor=_membership(request), channel=channel, membership=member
        )
        access = selectors.channel_access_for(member, channel)
        role = access.role.label if access.role else _("no access")
        words = {"member": member.user.get_full_name(), "role": role}
        done = (
            _("%(member)s has no role of their own on this channel now: %(role)s.") % words
            if removed
            else _("%(member)s had no role of their own on this channel: %(role)s.") % words
        )
    return _roles_answer(request, phone, channel, form, done)
