"""QR codes and message links of a number (the "QR codes" tab), and their images.

Thin views: parse → service → render. With htmx, a change answers the list in place
(errors beside their field); without, the page comes back after a redirect. Other
refusals are answered by ``waba_portal.middleware.ServiceErrorMiddleware``. The images
are drawn here (segno), as SVG for the page and PNG or SVG to download.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Membership
from accounts.permissions import tenant_view
from senders import selectors
from senders.models import PhoneNumber, QrCode
from senders.services import qr_codes
from senders.views.names import show_beside_fields
from waba_portal.errors import ServiceError
from waba_portal.middleware import refusals_return_to


class QrCodeForm(forms.Form):
    prefilled_message = forms.CharField(
        label=gettext_lazy("Message the chat starts with"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy(
            "Up to 140 characters. The customer sees it typed in and sends it with one tap."
        ),
    )


def _membership(request: HttpRequest) -> Membership:
    return request.membership  # type: ignore[attr-defined,no-any-return]


def _htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _context(
    phone: PhoneNumber,
    *,
    form: QrCodeForm | None = None,
    edit_forms: dict[int, QrCodeForm] | None = None,
    notice: str = "",
) -> dict[str, Any]:
    codes = list(selectors.qr_codes_of(phone=phone))
    edits = edit_forms or {}
    return {
        "phone": phone,
        "codes": [
            (
                qr,
                edits.get(qr.pk)
                or QrCodeForm(
                    initial={"prefilled_message": qr.prefilled_message}, prefix=f"qr{qr.pk}"
                ),
            )
            for qr in codes
        ],
        "form": form or QrCodeForm(),
        "notice": notice,
        "message_max": qr_codes.PREFILLED_MESSAGE_MAX,
    }


def _answer(
    request: HttpRequest, phone: PhoneNumber, *, status: int = 200, **context: Any
) -> HttpResponse:
    """The list for htmx; otherwise the page (a redirect after a change that worked)."""
    if _htmx(request):
        return render(request, "senders/_qr_codes.html", _context(phone, **context), status=status)
    if status == 200:
        if context.get("notice"):
            messages.success(request, context["notice"])
        slug = request.tenant.slug  # type: ignore[attr-defined]
        return redirect("senders:number_qr_codes", tenant_slug=slug, phone_pk=phone.pk)
    return render(
        request, "senders/number_qr_codes.html", _context(phone, **context), status=status
    )


@refusals_return_to("senders:number_qr_codes", "phone_pk")
@tenant_view()
def number_qr_codes(request: HttpRequest, phone_pk: int) -> HttpResponse:
    """The tab; a POST makes a new QR code."""
    phone = selectors.phone_access(phone_pk=phone_pk)
    if request.method != "POST":
        return render(request, "senders/number_qr_codes.html", _context(phone))
    form = QrCodeForm(request.POST)
    try:
        qr = qr_codes.qr_code_create(
            actor=_membership(request),
            phone=phone,
            prefilled_message=request.POST.get("prefilled_message", ""),
        )
    except ServiceError as exc:
        show_beside_fields(form, exc)
        return _answer(request, phone, form=form, status=400)
    return _answer(request, phone, notice=_("The QR code %(code)s is ready.") % {"code": qr.code})


@refusals_return_to("senders:number_qr_codes", "phone_pk")
@tenant_view()
@require_POST
def qr_code_edit(request: HttpRequest, phone_pk: int, qr_pk: int) -> HttpResponse:
    """Change the message a code's chat starts with."""
    phone = selectors.phone_access(phone_pk=phone_pk)
    qr = selectors.qr_code_access(phone=phone, qr_pk=qr_pk)
    prefix = f"qr{qr.pk}"
    form = QrCodeForm(request.POST, prefix=prefix)
    try:
        qr = qr_codes.qr_code_update(
            actor=_membership(request),
            qr=qr,
            prefilled_message=request.POST.get(f"{prefix}-prefilled_message", ""),
        )
    except ServiceError as exc:
        show_beside_fields(form, exc)
        return _answer(request, phone, edit_forms={qr.pk: form}, status=400)
    return _answer(
        request, phone, notice=_("The message of %(code)s is saved.") % {"code": qr.code}
    )


@refusals_return_to("senders:number_qr_codes", "phone_pk")
@tenant_view()
@require_POST
def qr_code_delete(request: HttpRequest, phone_pk: int, qr_pk: int) -> HttpResponse:
    phone = selectors.phone_access(phone_pk=phone_pk)
    qr = selectors.qr_code_access(phone=phone, qr_pk=qr_pk)
    code = qr.code
    qr_codes.qr_code_delete(actor=_membership(request), qr=qr)
    return _answer(
        request,
        phone,
        notice=_("The QR code %(code)s is deleted; its link no longer works.") % {"code": code},
    )


@refusals_return_to("senders:number_qr_codes", "phone_pk")
@tenant_view()
@require_POST
def number_qr_codes_sync(request: HttpRequest, phone_pk: int) -> HttpResponse:
    """Read the number's codes from Meta (made or deleted in WhatsApp Manager)."""
    phone = selectors.phone_access(phone_pk=phone_pk)
    result = qr_codes.qr_codes_sync(actor=_membership(request), phone=phone)
    notice = _(
        "Read from Meta: %(added)d new, %(updated)d changed, %(removed)d no longer there."
    ) % {"added": result.added, "updated": result.updated, "removed": result.removed}
    return _answer(request, phone, notice=notice)


def _image(request: HttpRequest, phone_pk: int, qr_pk: int, image_format: str) -> HttpResponse:
    phone = selectors.phone_access(phone_pk=phone_pk)
    qr: QrCode = selectors.qr_code_access(phone=phone, qr_pk=qr_pk)
    response = HttpResponse(
        qr_codes.qr_image(qr, image_format=image_format),
        content_type=qr_codes.IMAGE_FORMATS[image_format],
    )
    if request.GET.get("download"):
        name = qr_codes.qr_image_filename(qr, image_format=image_format)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, max-age=3600"
    return response


@tenant_view()
@require_GET
def qr_code_svg(request: HttpRequest, phone_pk: int, qr_pk: int) -> HttpResponse:
    return _image(request, phone_pk, qr_pk, "svg")


@tenant_view()
@require_GET
def qr_code_png(request: HttpRequest, phone_pk: int, qr_pk: int) -> HttpResponse:
    return _image(request, phone_pk, qr_pk, "png")
