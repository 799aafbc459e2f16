"""REST API of one number's way to sending: detail, verification, registration, PIN, removal.

The same services as the number's page, so the same rules and the same refusals: a
refusal's body is ``{"error": {"code", "message", "details"}}``; when Meta refused (or
we did in its place), ``code`` is the troubleshooting key and ``details.problem`` its
entry (title, explanation, steps, url); a lockout adds ``details.locked_until``.
Reads are for every member, actions for owners and admins. The PIN is returned only by
``pin/reveal/``, once.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import get_language
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.idempotency import idempotent
from accounts.permissions import IsManager, require_manager
from senders import selectors
from senders.api.accounts import PhoneNumberSerializer, ProblemSerializer, problem_payload
from senders.models import PhoneNumber, VerificationMethod
from senders.services import number_state, phone_numbers, registration, rules
from waba_portal.api import TenantAPIView
from waba_portal.errors import Invalid
from waba_portal.guards import parse_id


class NumberStepSerializer(serializers.Serializer[Any]):
    key = serializers.ChoiceField(choices=["name", "verification", "registration", "payment"])
    state = serializers.ChoiceField(
        choices=[
            selectors.STEP_DONE,
            selectors.STEP_WAITING,
            selectors.STEP_TODO,
            selectors.STEP_LATER,
        ],
        help_text="done; waiting (Meta decides); todo (act, problem says how); later.",
    )
    title = serializers.CharField()
    detail = serializers.CharField()
    problem = ProblemSerializer(allow_null=True)


class VerificationSerializer(serializers.Serializer[Any]):
    verified = serializers.BooleanField()
    suggested_method = serializers.ChoiceField(choices=VerificationMethod.choices)
    method = serializers.CharField(help_text="How the last code was sent, if one was.")
    language = serializers.CharField()
    code_requested_at = serializers.DateTimeField(allow_null=True)
    code_expires_at = serializers.DateTimeField(allow_null=True)
    attempts_left = serializers.IntegerField(allow_null=True)
    locked_until = serializers.DateTimeField(allow_null=True)
    verified_at = serializers.DateTimeField(allow_null=True)
    languages = serializers.ListField(child=serializers.CharField())


class TwoStepVerificationSerializer(serializers.Serializer[Any]):
    pin_set = serializers.BooleanField(help_text="Whether we know the PIN (never shown here).")
    pin_set_at = serializers.DateTimeField(allow_null=True)
    pin_revealed_at = serializers.DateTimeField(allow_null=True)


class PhoneNumberDetailSerializer(PhoneNumberSerializer):
    """A number with its steps, its verification and its PIN's state (never the PIN)."""

    code_verification_status = serializers.CharField(read_only=True)
    platform_type = serializers.CharField(read_only=True)
    steps = serializers.SerializerMethodField()
    verification = serializers.SerializerMethodField()
    two_step_verification = serializers.SerializerMethodField()
    removed_at = serializers.SerializerMethodField()
    resubmittable = serializers.SerializerMethodField()

    class Meta(PhoneNumberSerializer.Meta):
        fields = [
            *PhoneNumberSerializer.Meta.fields,
            "code_verification_status",
            "platform_type",
            "steps",
            "verification",
            "two_step_verification",
            "removed_at",
            "resubmittable",
        ]

    @extend_schema_field(NumberStepSerializer(many=True))
    def get_steps(self, phone: PhoneNumber) -> list[dict[str, Any]]:
        verification = selectors.number_verification(phone=phone)
        return [
            {
                "key": s.key,
                "state": s.state,
                "title": s.title,
                "detail": s.detail,
                "problem": problem_payload(s.problem, self.context["tenant_slug"]),
            }
            for s in selectors.number_steps(phone=phone, verification=verification)
        ]

    @extend_schema_field(VerificationSerializer)
    def get_verification(self, phone: PhoneNumber) -> dict[str, Any]:
        details = selectors.number_details(phone=phone)
        v = selectors.number_verification(phone=phone)
        until = number_state.locked_until(v)
        return {
            "verified": number_state.is_verified(phone),
            "suggested_method": number_state.suggested_method(details),
            "method": v.method if v else "",
            "language": v.language if v else "",
            "code_requested_at": v.code_requested_at if v else None,
            "code_expires_at": v.code_expires_at if v and number_state.code_valid(v) else None,
            "attempts_left": number_state.attempts_left(v),
            "locked_until": until,
            "verified_at": v.verified_at if v else None,
            "languages": [code for code, _label in number_state.CODE_LANGUAGES],
        }

    @extend_schema_field(TwoStepVerificationSerializer)
    def get_two_step_verification(self, phone: PhoneNumber) -> dict[str, Any]:
        details = selectors.number_details(phone=phone)
        return {
            "pin_set": number_state.pin_known(phone, details),
            "pin_set_at": (details.pin_set_at if details else None) or phone.registered_at,
            "pin_revealed_at": details.pin_revealed_at if details else None,
        }

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_removed_at(self, phone: PhoneNumber) -> Any:
        details = selectors.number_details(phone=phone)
        return (
            serializers.DateTimeField().to_representation(details.removed_at)
            if (details and details.removed_at)
            else None
        )

    def get_resubmittable(self, phone: PhoneNumber) -> bool:
        return rules.phone_resubmit_can_help(phone) and number_state.is_verified(phone)


def _text(request: Request, name: str, *, default: str = "") -> str:
    """A string field of the JSON body (or the query string), else refused as invalid."""
    data = request.data if isinstance(request.data, dict) else {}
    value = data.get(name, request.query_params.get(name, default))
    if value is None:
        return default
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise Invalid(_("%(field)s must be a string.") % {"field": name}, field=name)
    return str(value)


class RemoveSerializer(serializers.Serializer[Any]):
    new_primary = serializers.IntegerField(
        required=False,
        help_text="For the primary sender: the id of the number that sends instead.",
    )


class RequestCodeSerializer(serializers.Serializer[Any]):
    method = serializers.ChoiceField(
        choices=VerificationMethod.choices,
        required=False,
        help_text="SMS or VOICE (default: what suits the number's type).",
    )
    language = serializers.CharField(
        required=False, help_text="The code message's language, such as en_US."
    )


class VerifySerializer(serializers.Serializer[Any]):
    code = serializers.CharField(help_text="The 6-digit code the number received.")


class PinRevealSerializer(serializers.Serializer[Any]):
    pin = serializers.CharField(help_text="The two-step verification PIN, shown this once.")


NEW_PRIMARY = OpenApiParameter(
    "new_primary",
    int,
    required=False,
    description="For the primary sender: the id of the number that sends instead.",
)


class _NumberAction(TenantAPIView):
    permission_classes = [IsAuthenticated, IsManager]

    def detail(self, phone: PhoneNumber, *, code: int = status.HTTP_200_OK) -> Response:
        phone = selectors.phone_access(phone_pk=phone.pk)
        return Response(
            PhoneNumberDetailSerializer(phone, context=self.context()).data, status=code
        )

    def remove(self, request: Request, phone_pk: int) -> Response:
        phone = selectors.phone_access(phone_pk=phone_pk)
        raw = _text(request, "new_primary")
        new_primary = None
        if raw:
            new_pk = parse_id(raw)
            if new_pk is None:
                raise Invalid(_("new_primary must be the id of a number."), field="new_primary")
            new_primary = selectors.phone_access(phone_pk=new_pk)
        phone = registration.number_remove(
            actor=self.membership, phone=phone, new_primary=new_primary
        )
        return self.detail(phone)


class PhoneNumberDetail(_NumberAction):
    """GET: the number with its steps. DELETE: remove it (``new_primary`` for the primary)."""

    # Every member reads; DELETE checks the role itself (a POST here is 405 for all).
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=PhoneNumberDetailSerializer)
    def get(self, request: Request, phone_pk: int) -> Response:
        return self.detail(selectors.phone_access(phone_pk=phone_pk))

    @extend_schema(parameters=[NEW_PRIMARY], responses={200: PhoneNumberDetailSerializer})
    def delete(self, request: Request, phone_pk: int) -> Response:
        require_manager(self.membership, message=_("Only owners and admins can remove numbers."))
        return self.remove(request, phone_pk)


class PhoneNumberRemove(_NumberAction):
    """POST: remove the number, like DELETE on the number (for clients without a body on
    DELETE)."""

    @extend_schema(request=RemoveSerializer, responses=PhoneNumberDetailSerializer)
    def post(self, request: Request, phone_pk: int) -> Response:
        return self.remove(request, phone_pk)


class PhoneNumberRequestCode(_NumberAction):
    """POST ``{"method": "SMS"|"VOICE", "language": "en_US"}``: Meta sends a code."""

    @extend_schema(request=RequestCodeSerializer, responses=PhoneNumberDetailSerializer)
    @idempotent
    def post(self, request: Request, phone_pk: int) -> Response:
        phone = selectors.phone_access(phone_pk=phone_pk)
        details = selectors.number_details(phone=phone)
        registration.verification_code_request(
            actor=self.membership,
            phone=phone,
            method=_text(request, "method", default=number_state.suggested_method(details)),
            language=_text(
                request,
                "language",
                default=number_state.default_code_language(get_language() or "en"),
            ),
        )
        return self.detail(phone)


class PhoneNumberVerify(_NumberAction):
    """POST ``{"code": "123456"}``: the code the number received."""

    @extend_schema(request=VerifySerializer, responses=PhoneNumberDetailSerializer)
    def post(self, request: Request, phone_pk: int) -> Response:
        phone = selectors.phone_access(phone_pk=phone_pk)
        registration.verification_code_verify(
            actor=self.membership, phone=phone, code=_text(request, "code")
        )
        return self.detail(phone)


class PhoneNumberRegister(_NumberAction):
    """POST: register the verified number (we set its two-step verification PIN)."""

    @extend_schema(request=None, responses=PhoneNumberDetailSerializer)
    def post(self, request: Request, phone_pk: int) -> Response:
        phone = selectors.phone_access(phone_pk=phone_pk)
        phone = registration.number_register(actor=self.membership, phone=phone)
        return self.detail(phone)


class PhoneNumberPin(_NumberAction):
    """POST: set a new two-step verification PIN at Meta (shown once through reveal)."""

    @extend_schema(request=None, responses=PhoneNumberDetailSerializer)
    @idempotent
    def post(self, request: Request, phone_pk: int) -> Response:
        phone = selectors.phone_access(phone_pk=phone_pk)
        phone = registration.number_pin_change(actor=self.membership, phone=phone)
        return self.detail(phone)


class PhoneNumberPinReveal(_NumberAction):
    """POST: the PIN, once (``{"pin": "…"}``); after that only a change shows a new one.
    Not idempotent on purpose: its answer is kept nowhere."""

    @extend_schema(request=None, responses=PinRevealSerializer)
    def post(self, request: Request, phone_pk: int) -> Response:
        phone = selectors.phone_access(phone_pk=phone_pk)
        pin = registration.number_pin_reveal(actor=self.membership, phone=phone)
        response = Response({"pin": pin})
        response["Cache-Control"] = "no-store"
        return response


class PhoneNumberResubmit(_NumberAction):
    """POST: run again the steps not done yet (answers 202; a notification tells the
    outcome). Refused where it cannot help (a quality flag, a number to verify)."""

    @extend_schema(request=None, responses={202: PhoneNumberDetailSerializer})
    def post(self, request: Request, phone_pk: int) -> Response:
        phone = selectors.phone_access(phone_pk=phone_pk)
        phone_numbers.phone_number_resubmit(actor=self.membership, phone=phone)
        return self.detail(phone, code=status.HTTP_202_ACCEPTED)
