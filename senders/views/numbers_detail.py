"""One number's page: its state in words, verification, registration, PIN and removal.

Views are thin: parse → service → render. The steps of a number (ask for a code, enter
it, register, PIN) answer htmx with the page's progress block, updated in place, the
refusal shown beside the form it concerns; without htmx they redirect back to the page
with a message (a refusal through ``ServiceErrorMiddleware``). The PIN is shown only in
the answer to "Show PIN", never put in a message or a redirect.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Membership
from accounts.permissions import require_manager, tenant_view
from senders import selectors
from senders import troubleshooting as ts
from senders.models import AccountHistory, PhoneNumber, VerificationMethod
from senders.services import number_state, phone_numbers, registration, rules
from waba_portal.errors import Conflict, Invalid, ServiceError
from waba_portal.guards import parse_id
from waba_portal.middleware import refusals_return_to

HISTORY_LIMIT = 50
# What a step answers htmx: the progress block, and out of band what else it changed.
STEP_ANSWER = "senders/_number_step_answer.html"


def _membership(request: HttpRequest) -> Membership:
    return request.membership  # type: ignore[attr-defined,no-any-return]


def _htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _manager_first(request: HttpRequest) -> None:
    """Checked before the form is read, so an agent gets 403 whatever it posts."""
    require_manager(
        _membership(request), message=_("Only owners and admins can change WhatsApp settings.")
    )


def _progress_context(
    request: HttpRequest,
    phone: PhoneNumber,
    *,
    error: ServiceError | None = None,
    form: str = "",
    done: str = "",
    revealed_pin: str = "",
    posted: dict[str, str] | None = None,
) -> dict[str, Any]:
    details = selectors.number_details(phone=phone)
    verification = selectors.number_verification(phone=phone)
    removed = number_state.is_removed(details)
    registered = number_state.is_registered(phone)
    verified = number_state.is_verified(phone)
    connected = phone.waba.is_connected and not removed
    posted = posted or {}
    problem = getattr(error, "problem", "")
    can_act = _membership(request).can_manage and connected
    show_verification = not verified and connected
    show_register = verified and not registered and connected
    resubmittable = (
        connected
        and verified
        and (registered or bool(phone.problem))
        and rules.phone_resubmit_can_help(phone)
    )
    # A refusal is shown beside its form; where that form is gone now (the step changed
    # meanwhile), at the top of the block.
    shown = {
        "request": show_verification and can_act,
        "verify": show_verification and can_act and bool(verification),
        "register": show_register and can_act,
        "pin": registered and connected,
        "resubmit": resubmittable and can_act,
    }
    if error is not None and not shown.get(form):
        form = "top"
    return {
        "phone": phone,
        "details": details,
        "verification": verification,
        "removed": removed,
        "steps": selectors.number_steps(phone=phone, verification=verification),
        "can_act": can_act,
        "show_verification": show_verification,
        "show_register": show_register,
        "show_pin": registered and connected,
        "pin_known": number_state.pin_known(phone, details),
        "pin_revealed_at": details.pin_revealed_at if details else None,
        "pin_set_at": (details.pin_set_at if details else None) or phone.registered_at,
        "revealed_pin": revealed_pin,
        "code_valid": number_state.code_valid(verification),
        "locked_until": number_state.locked_until(verification),
        "attempts_left": number_state.attempts_left(verification),
        "methods": VerificationMethod.choices,
        "method": posted.get("method")
        or (verification.method if verification and verification.method else "")
        or number_state.suggested_method(details),
        "suggested_method": number_state.suggested_method(details),
        "number_type": details.number_type if details else "",
        "languages": number_state.CODE_LANGUAGES,
        "language": posted.get("language")
        or (verification.language if verification and verification.language else "")
        or number_state.default_code_language(get_language() or "en"),
        # Register and verify are done here in place; Resubmit is for the rest it can fix
        # (a new name to register, a PIN turned off elsewhere), never for a quality flag.
        "resubmittable": resubmittable,
        "flagged": phone.meta_status in rules.QUALITY_OR_POLICY_STATUSES,
        "error": error,
        "error_form": form if error else "",
        "error_problem": ts.get(problem) if problem else None,
        "error_detail": getattr(error, "detail", ""),
        "done": done,
        "troubleshooting_url": reverse(
            "senders:troubleshooting",
            kwargs={"tenant_slug": request.tenant.slug},  # type: ignore[attr-defined]
        ),
    }


def _page_context(request: HttpRequest, phone: PhoneNumber, **progress: Any) -> dict[str, Any]:
    context = _progress_context(request, phone, **progress)
    details = context["details"]
    context.update(
        {
            "problem": ts.get(phone.problem) if phone.problem else None,
            "problem_url": ts.get(phone.problem).url(request.tenant.slug)  # type: ignore[attr-defined]
            if phone.problem
            else "",
            "send_blocked": selectors.phone_send_blocked(phone=phone),
            "is_primary": phone.is_primary or phone.primary_chosen,
            "replacements": selectors.number_replacements(phone=phone),
            "removed_at": details.removed_at if details else None,
            "removed_by": details.removed_by if details else None,
            "history": AccountHistory.objects.filter(phone_number=phone)
            .select_related("phone_number")
            .order_by("-occurred_at", "-id")[:HISTORY_LIMIT],
        }
    )
    return context


@tenant_view()
def number_detail(request: HttpRequest, phone_pk: int) -> HttpResponse:
    phone = selectors.phone_access(phone_pk=phone_pk)
    return render(request, "senders/number_detail.html", _page_context(request, phone))


def _step(
    request: HttpRequest,
    phone_pk: int,
    *,
    form: str,
    action: Callable[[PhoneNumber], Any],
    done: Callable[[PhoneNumber], str],
) -> HttpResponse:
    """Run one step of the number; answer htmx with the progress block, else redirect."""
    _manager_first(request)
    phone = selectors.phone_access(phone_pk=phone_pk)
    posted = {k: str(v) for k, v in request.POST.items() if k in ("method", "language")}
    if not _htmx(request):
        action(phone)  # a refusal: its message on the page, through the middleware
        messages.success(request, done(phone))
        return redirect("senders:number_detail", tenant_slug=request.tenant.slug, phone_pk=phone.pk)  # type: ignore[attr-defined]
    try:
        action(phone)
    except (Invalid, Conflict) as exc:
        phone = selectors.phone_access(phone_pk=phone.pk)
        context = _page_context(request, phone, error=exc, form=form, posted=posted)
        return render(request, STEP_ANSWER, context)
    phone = selectors.phone_access(phone_pk=phone.pk)
    context = _page_context(request, phone, done=done(phone), form=form, posted=posted)
    return render(request, STEP_ANSWER, context)


@tenant_view()
@require_POST
@refusals_return_to("senders:number_detail", "phone_pk")
def number_code_request(request: HttpRequest, phone_pk: int) -> HttpResponse:
    def action(phone: PhoneNumber) -> None:
        registration.verification_code_request(
            actor=_membership(request),
            phone=phone,
            method=request.POST.get("method", ""),
            language=request.POST.get("language", ""),
        )

    def done(phone: PhoneNumber) -> str:
        verification = selectors.number_verification(phone=phone)
        until = number_state.try_again_words(verification.code_expires_at)  # type: ignore[union-attr,arg-type]
        if verification and verification.method == VerificationMethod.VOICE:
            return _("Meta is calling %(number)s with the code. Enter it before %(when)s.") % {
                "number": phone,
                "when": until,
            }
        return _("Meta sent the code to %(number)s by SMS. Enter it before %(when)s.") % {
            "number": phone,
            "when": until,
        }

    return _step(request, phone_pk, form="request", action=action, done=done)


@tenant_view()
@require_POST
@refusals_return_to("senders:number_detail", "phone_pk")
def number_code_verify(request: HttpRequest, phone_pk: int) -> HttpResponse:
    def action(phone: PhoneNumber) -> None:
        registration.verification_code_verify(
            actor=_membership(request), phone=phone, code=request.POST.get("code", "")
        )

    return _step(
        request,
        phone_pk,
        form="verify",
        action=action,
        done=lambda phone: _("%(number)s is verified. Register it next.") % {"number": phone},
    )


@tenant_view()
@require_POST
@refusals_return_to("senders:number_detail", "phone_pk")
def number_register(request: HttpRequest, phone_pk: int) -> HttpResponse:
    def action(phone: PhoneNumber) -> None:
        registration.number_register(actor=_membership(request), phone=phone)

    def done(phone: PhoneNumber) -> str:
        blocked = selectors.phone_send_blocked(phone=phone)
        if blocked is None:
            return _("%(number)s is registered and can send messages.") % {"number": phone}
        return _("%(number)s is registered, but it cannot send yet: %(reason)s") % {
            "number": phone,
            "reason": blocked.message,
        }

    return _step(request, phone_pk, form="register", action=action, done=done)


@tenant_view()
@require_POST
@refusals_return_to("senders:number_detail", "phone_pk")
def number_pin_change(request: HttpRequest, phone_pk: int) -> HttpResponse:
    def action(phone: PhoneNumber) -> None:
        registration.number_pin_change(actor=_membership(request), phone=phone)

    return _step(
        request,
        phone_pk,
        form="pin",
        action=action,
        done=lambda phone: (
            _(
                "The two-step verification PIN of %(number)s was changed at Meta. You can show "
                "the new PIN once."
            )
            % {"number": phone}
        ),
    )


@tenant_view()
@require_POST
@refusals_return_to("senders:number_detail", "phone_pk")
def number_pin_reveal(request: HttpRequest, phone_pk: int) -> HttpResponse:
    """The PIN, once: in this answer only (not cached, not in a message or a redirect)."""
    _manager_first(request)
    phone = selectors.phone_access(phone_pk=phone_pk)
    if _htmx(request):
        try:
            pin = registration.number_pin_reveal(actor=_membership(request), phone=phone)
        except (Invalid, Conflict) as exc:
            context = _page_context(request, phone, error=exc, form="pin")
            return render(request, STEP_ANSWER, context)
        phone = selectors.phone_access(phone_pk=phone.pk)
        context = _page_context(request, phone, revealed_pin=pin, form="pin")
        response = render(request, STEP_ANSWER, context)
    else:
        pin = registration.number_pin_reveal(actor=_membership(request), phone=phone)
        response = render(
            request, "senders/number_detail.html", _page_context(request, phone, revealed_pin=pin)
        )
    response["Cache-Control"] = "no-store"
    return response


@tenant_view()
@require_POST
@refusals_return_to("senders:number_detail", "phone_pk")
def number_resubmit(request: HttpRequest, phone_pk: int) -> HttpResponse:
    def action(phone: PhoneNumber) -> None:
        phone_numbers.phone_number_resubmit(actor=_membership(request), phone=phone)

    return _step(
        request,
        phone_pk,
        form="resubmit",
        action=action,
        done=lambda phone: (
            _(
                "%(number)s is being resubmitted to Meta: only the steps not done yet are run. "
                "A notification will say what it changed."
            )
            % {"number": phone}
        ),
    )


@tenant_view()
@require_POST
@refusals_return_to("senders:number_detail", "phone_pk")
def number_remove(request: HttpRequest, phone_pk: int) -> HttpResponse:
    _manager_first(request)
    phone = selectors.phone_access(phone_pk=phone_pk)
    raw = request.POST.get("new_primary", "")
    new_primary = None
    if raw:
        new_pk = parse_id(raw)
        if new_pk is None:
            raise Invalid(_("Choose the number that sends instead."), field="new_primary")
        new_primary = selectors.phone_access(phone_pk=new_pk)
    phone = registration.number_remove(
        actor=_membership(request), phone=phone, new_primary=new_primary
    )
    if new_primary is not None:
        text = _("%(number)s was removed. %(primary)s is the primary sender now.") % {
            "number": phone,
            "primary": new_primary,
        }
    else:
        text = _("%(number)s was removed and deregistered at Meta. Its history stays here.") % {
            "number": phone
        }
    messages.success(request, text)
    return redirect("senders:waba_detail", tenant_slug=request.tenant.slug, waba_pk=phone.waba_id)  # type: ignore[attr-defined]
