"""REST API of senders: WABAs, phone numbers and onboardings of the current tenant.

Every error state carries ``problem``: the troubleshooting key, its title and the URL
of its entry, the same catalogue the pages use. Tokens and PINs are never returned.
Each number says whether it can send (``can_send``) and, if not, why
(``send_blocked``: a code and its words); for the primary sender it also lists the
numbers it could switch to, through ``phone-numbers/<id>/primary/``.
Services are called without ``try``: ``waba_portal.api.exception_handler`` answers
their refusals (403, 404, 400, 409).
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.permissions import IsManager
from senders import selectors
from senders import troubleshooting as ts
from senders.forms import SignupResultForm
from senders.models import Onboarding, OnboardingStep, PhoneNumber, WhatsAppAccount
from senders.services import onboarding as onboarding_services
from senders.services import phone_numbers
from waba_portal.api import TenantAPIView


def problem_payload(key: str, tenant_slug: str) -> dict[str, Any] | None:
    if not key:
        return None
    problem = ts.get(key)
    return {
        "code": problem.key,
        "title": str(problem.title),
        "explanation": str(problem.explanation),
        "steps": [str(s) for s in ts.api_steps(problem)],
        "url": problem.url(tenant_slug),
    }


class ProblemField(serializers.Field):
    def __init__(self, **kwargs: Any) -> None:
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value: str) -> dict[str, Any] | None:
        return problem_payload(value, self.context["tenant_slug"])


class PhoneNumberSerializer(serializers.ModelSerializer[PhoneNumber]):
    problem = ProblemField()
    quality_score = serializers.CharField(source="quality_label", read_only=True)
    waba = serializers.IntegerField(source="waba_id", read_only=True)
    can_send = serializers.SerializerMethodField()
    send_blocked = serializers.SerializerMethodField()

    def get_can_send(self, phone: PhoneNumber) -> bool:
        return selectors.phone_send_blocked(phone=phone) is None

    def get_send_blocked(self, phone: PhoneNumber) -> dict[str, Any] | None:
        """Why it cannot send; for the primary sender, also what it can switch to."""
        blocked = selectors.phone_send_blocked(phone=phone)
        if blocked is None:
            return None
        body: dict[str, Any] = {"code": blocked.code, "message": blocked.message}
        if phone.is_primary:
            body["switch_to"] = [p.pk for p in selectors.phones_able_to_send(exclude=phone)]
        return body

    class Meta:
        model = PhoneNumber
        fields = [
            "id",
            "waba",
            "phone_number_id",
            "display_phone_number",
            "verified_name",
            "meta_status",
            "connection_status",
            "quality_rating",
            "quality_score",
            "name_status",
            "messaging_limit",
            "throughput_level",
            "is_primary",
            "can_send",
            "send_blocked",
            "registered_at",
            "problem",
        ]


class WabaSerializer(serializers.ModelSerializer[WhatsAppAccount]):
    problem = ProblemField()
    phone_numbers = PhoneNumberSerializer(many=True, read_only=True)

    class Meta:
        model = WhatsAppAccount
        fields = [
            "id",
            "waba_id",
            "business_id",
            "name",
            "currency",
            "timezone_id",
            "connection_status",
            "meta_status",
            "account_review_status",
            "business_verification_status",
            "unverified_since",
            "messaging_limit",
            "can_send_message",
            "ban_state",
            "restrictions",
            "connected_at",
            "disconnected_at",
            "last_synced_at",
            "problem",
            "phone_numbers",
        ]


class StepSerializer(serializers.ModelSerializer[OnboardingStep]):
    class Meta:
        model = OnboardingStep
        fields = ["name", "status", "attempts", "error", "started_at", "finished_at"]


class OnboardingSerializer(serializers.ModelSerializer[Onboarding]):
    problem = ProblemField()
    steps = StepSerializer(many=True, read_only=True)
    waba = serializers.IntegerField(source="account_id", read_only=True)

    class Meta:
        model = Onboarding
        fields = [
            "id",
            "status",
            "signup_event",
            "waba_id",
            "phone_number_id",
            "business_id",
            "waba",
            "problem",
            "error_message",
            "steps",
            "created_at",
            "finished_at",
        ]


class WabaList(TenantAPIView):
    def get(self, request: Request) -> Response:
        wabas = selectors.waba_list()
        return Response(WabaSerializer(wabas, many=True, context=self.context()).data)


class WabaDetail(TenantAPIView):
    def get(self, request: Request, waba_pk: int) -> Response:
        waba = selectors.waba_access(waba_pk=waba_pk)
        return Response(WabaSerializer(waba, context=self.context()).data)


class PhoneNumberList(TenantAPIView):
    def get(self, request: Request) -> Response:
        numbers = selectors.phone_list()
        return Response(PhoneNumberSerializer(numbers, many=True, context=self.context()).data)


class PhoneNumberPrimary(TenantAPIView):
    """Make this number the primary sender (say, when the primary cannot send)."""

    permission_classes = [IsAuthenticated, IsManager]

    def post(self, request: Request, phone_pk: int) -> Response:
        phone = selectors.phone_access(phone_pk=phone_pk)
        phone = phone_numbers.phone_number_set_primary(actor=self.membership, phone=phone)
        return Response(PhoneNumberSerializer(phone, context=self.context()).data)


class OnboardingCreate(TenantAPIView):
    """Start connecting a WABA with the result of Embedded Signup (code + session info)."""

    permission_classes = [IsAuthenticated, IsManager]

    def post(self, request: Request) -> Response:
        form = SignupResultForm.from_payload(request.data)
        if not form.is_valid():
            return self.error(
                status.HTTP_400_BAD_REQUEST,
                "invalid",
                "The signup result is incomplete.",
                form.errors.get_json_data(),
            )
        onboarding = onboarding_services.onboarding_start(
            actor=self.membership, code=form.cleaned_data["code"], session=form.session()
        )
        onboarding.refresh_from_db()
        return Response(
            OnboardingSerializer(onboarding, context=self.context()).data,
            status=status.HTTP_201_CREATED,
        )


class OnboardingDetail(TenantAPIView):
    def get(self, request: Request, onboarding_pk: int) -> Response:
        onboarding = selectors.onboarding_access(onboarding_pk=onboarding_pk)
        return Response(OnboardingSerializer(onboarding, context=self.context()).data)
