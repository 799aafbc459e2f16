"""REST API of senders: WABAs, phone numbers and onboardings of the current tenant.

- ``wabas/``: the accounts (paged, filtered by ``connection_status``, ``meta_status``,
  ``waba_id``); ``wabas/<id>/``: one, with its numbers; ``.../sync/`` (POST) reads it
  from Meta now (202); ``.../disconnect/`` (POST) disconnects it; ``.../reconnect/``:
  GET says what connecting it again takes (Embedded Signup, in a browser), POST its
  result starts the onboarding for that account (201).
- ``phone-numbers/``: the numbers (paged, filtered by ``waba``, ``connection_status``,
  ``meta_status``, ``quality_rating``, ``is_primary``, ``phone_number_id``);
  ``.../<id>/primary/`` (POST) makes one the primary sender.
- ``onboardings/``: the connection attempts (paged, filtered by ``status``, ``waba``,
  ``waba_id``, ``dismissed``); POST Embedded Signup's result starts one (201), with
  ``target_waba`` to add a number to that connected account (its Add number page);
  ``.../<id>/``, ``.../<id>/retry/`` (POST), ``.../<id>/dismiss/`` (POST), as the pages.

Every error state carries ``problem``: the troubleshooting key, its title and the URL
of its entry, the same catalogue the pages use. Tokens and PINs are never returned.
Each number says whether it can send (``can_send``) and, if not, why
(``send_blocked``: a code and its words); for the primary sender it also lists the
numbers it could switch to, through ``phone-numbers/<id>/primary/``.
Our ids are ``id`` (and ``waba`` for an account's); Meta's keep Meta's names
(``waba_id``, ``phone_number_id``, ``business_id``). Services are called without
``try``: ``waba_portal.api.exception_handler`` answers their refusals (403, 404, 400,
409) with the pages' words.
"""

from __future__ import annotations

import re
from typing import Any

import django_filters
from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.mixins import ListModelMixin
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.idempotency import idempotent
from accounts.permissions import IsManager
from senders import selectors
from senders import troubleshooting as ts
from senders.forms import SignupResultForm
from senders.models import (
    ConnectionStatus,
    Onboarding,
    OnboardingStatus,
    OnboardingStep,
    PhoneNumber,
    PhoneStatus,
    QualityRating,
    SignupEvent,
    WabaStatus,
    WhatsAppAccount,
)
from senders.services import onboarding as onboarding_services
from senders.services import phone_numbers, wabas
from waba_portal.api import TenantAPIView
from waba_portal.api_pagination import IdFilter, TenantListAPIView
from waba_portal.errors import Invalid
from waba_portal.guards import parse_id

# --- Shared pieces -----------------------------------------------------------------------


class ProblemSerializer(serializers.Serializer[Any]):
    """A troubleshooting entry: what is wrong and the steps that fix it."""

    code = serializers.CharField(help_text="The entry's key, such as token_invalid.")
    title = serializers.CharField()
    explanation = serializers.CharField()
    steps = serializers.ListField(child=serializers.CharField())
    url = serializers.CharField(help_text="The entry on the portal's troubleshooting page.")


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


@extend_schema_field(ProblemSerializer(allow_null=True))
class ProblemField(serializers.Field):  # type: ignore[type-arg]
    def __init__(self, **kwargs: Any) -> None:
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value: str) -> dict[str, Any] | None:
        return problem_payload(value, self.context["tenant_slug"])


def e164(display_phone_number: str) -> str:
    """Meta's display form of a number (``+1 555-0100``, ``15550100``) in E.164."""
    digits = re.sub(r"\D", "", display_phone_number or "")
    return f"+{digits}" if digits else ""


def signup_result(request: Request) -> tuple[str, dict[str, Any]]:
    """Embedded Signup's result from the body (``{"code", "session": {"event", "data"}}``),
    checked as the connect page checks it; else 400 with the field problems."""
    form = SignupResultForm.from_payload(request.data)
    if not form.is_valid():
        fields = {name: [str(m) for m in messages] for name, messages in form.errors.items()}
        first = form.non_field_errors() or [_("The signup result is incomplete; connect again.")]
        raise Invalid(str(first[0]), details={"fields": fields})
    return form.cleaned_data["code"], form.session()


class SignupDataSerializer(serializers.Serializer[Any]):
    waba_id = serializers.RegexField(r"^[0-9]{1,32}$", required=False)
    phone_number_id = serializers.RegexField(r"^[0-9]{1,32}$", required=False)
    business_id = serializers.RegexField(r"^[0-9]{1,32}$", required=False)
    error_message = serializers.CharField(required=False, max_length=2000)
    current_step = serializers.CharField(required=False, max_length=200)


class SignupSessionSerializer(serializers.Serializer[Any]):
    event = serializers.ChoiceField(
        choices=SignupEvent.choices, help_text="The message event of Embedded Signup."
    )
    data = SignupDataSerializer(required=False)  # type: ignore[assignment]  # the field, not .data


class SignupResultSerializer(serializers.Serializer[Any]):
    """What Embedded Signup handed the browser (the same body as the connect page's)."""

    code = serializers.CharField(
        max_length=2048,
        required=False,
        help_text="The OAuth code of FB.login (required for the FINISH events).",
    )
    session = SignupSessionSerializer()


class OnboardingStartSerializer(SignupResultSerializer):
    target_waba = serializers.IntegerField(
        required=False,
        help_text="Our id of a connected account: the signup adds a number to it (the "
        "account's Add number page), and must be completed with that account.",
    )


SIGNUP_EXAMPLE = OpenApiExample(
    "A finished signup",
    request_only=True,
    value={
        "code": "AQBx…",
        "session": {
            "event": "FINISH",
            "data": {
                "waba_id": "102290129340398",
                "phone_number_id": "106540352242922",
                "business_id": "2729063490586005",
            },
        },
    },
)


# --- Serializers ------------------------------------------------------------------------


class SendBlockedSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(help_text="Why the number cannot send, such as not_connected.")
    message = serializers.CharField()
    switch_to = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        help_text="For the primary sender: ids of numbers that can send instead.",
    )


class PhoneNumberSerializer(serializers.ModelSerializer[PhoneNumber]):
    problem = ProblemField()
    quality_score = serializers.CharField(source="quality_label", read_only=True)
    waba = serializers.IntegerField(source="waba_id", read_only=True, help_text="Our id.")
    e164 = serializers.SerializerMethodField(help_text="The number in E.164, such as +15550100.")
    can_send = serializers.SerializerMethodField()
    send_blocked = serializers.SerializerMethodField()

    def get_e164(self, phone: PhoneNumber) -> str:
        return e164(phone.display_phone_number)

    def get_can_send(self, phone: PhoneNumber) -> bool:
        return selectors.phone_send_blocked(phone=phone) is None

    @extend_schema_field(SendBlockedSerializer(allow_null=True))
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
            "e164",
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
            "created_at",
            "problem",
        ]


class WabaSerializer(serializers.ModelSerializer[WhatsAppAccount]):
    problem = ProblemField()
    phone_numbers = PhoneNumberSerializer(many=True, read_only=True)
    needs_reconnect = serializers.SerializerMethodField(
        help_text="True when it must go through Embedded Signup again (see reconnect/)."
    )

    def get_needs_reconnect(self, waba: WhatsAppAccount) -> bool:
        return wabas.waba_reconnect_needed(waba)

    class Meta:
        model = WhatsAppAccount
        fields = [
            "id",
            "waba_id",
            "business_id",
            "name",
            "currency",
            "timezone_id",
            "country",
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
            "sync_error",
            "needs_reconnect",
            "problem",
            "created_at",
            "phone_numbers",
        ]


class StepSerializer(serializers.ModelSerializer[OnboardingStep]):
    class Meta:
        model = OnboardingStep
        fields = ["name", "status", "attempts", "error", "started_at", "finished_at"]


class OnboardingSerializer(serializers.ModelSerializer[Onboarding]):
    problem = ProblemField()
    steps = StepSerializer(many=True, read_only=True)
    waba = serializers.IntegerField(
        source="account_id", read_only=True, allow_null=True, help_text="Our id of the account."
    )
    target_waba = serializers.IntegerField(
        source="target_account_id",
        read_only=True,
        allow_null=True,
        help_text="The account a number is added to, when the signup was for one.",
    )

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
            "target_waba",
            "problem",
            "error_message",
            "steps",
            "created_at",
            "updated_at",
            "finished_at",
            "dismissed_at",
        ]


# --- Filters -----------------------------------------------------------------------------


class WabaFilter(django_filters.FilterSet):
    connection_status = django_filters.ChoiceFilter(choices=ConnectionStatus.choices)
    meta_status = django_filters.ChoiceFilter(choices=WabaStatus.choices)
    waba_id = django_filters.CharFilter(help_text="Meta's id of the account.")

    class Meta:
        model = WhatsAppAccount
        fields = ["connection_status", "meta_status", "waba_id"]


class PhoneNumberFilter(django_filters.FilterSet):
    waba = IdFilter(field_name="waba_id", help_text="Our id of the account.")
    connection_status = django_filters.ChoiceFilter(choices=ConnectionStatus.choices)
    meta_status = django_filters.ChoiceFilter(choices=PhoneStatus.choices)
    quality_rating = django_filters.ChoiceFilter(choices=QualityRating.choices)
    is_primary = django_filters.BooleanFilter()
    phone_number_id = django_filters.CharFilter(help_text="Meta's id of the number.")

    class Meta:
        model = PhoneNumber
        fields = [
            "waba",
            "connection_status",
            "meta_status",
            "quality_rating",
            "is_primary",
            "phone_number_id",
        ]


class OnboardingFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=OnboardingStatus.choices)
    waba = IdFilter(field_name="account_id", help_text="Our id of the account it connected.")
    waba_id = django_filters.CharFilter(help_text="Meta's id of the account.")
    dismissed = django_filters.BooleanFilter(
        field_name="dismissed_at",
        lookup_expr="isnull",
        exclude=True,
        help_text="true: only dismissed failed attempts; false: none of them.",
    )

    class Meta:
        model = Onboarding
        fields = ["status", "waba", "waba_id", "dismissed"]


# --- WABAs -------------------------------------------------------------------------------


class WabaList(ListModelMixin, TenantListAPIView):
    """The workspace's WhatsApp Business Accounts with their numbers, newest first."""

    serializer_class = WabaSerializer
    filterset_class = WabaFilter
    queryset = WhatsAppAccount.objects.none()  # the model, for the schema; see get_queryset

    def get_queryset(self) -> Any:
        return selectors.waba_list()

    def get(self, request: Request) -> Response:
        return self.list(request)


class _WabaView(TenantAPIView):
    def waba_answer(self, waba: WhatsAppAccount, code: int = status.HTTP_200_OK) -> Response:
        waba = selectors.waba_access(waba_pk=waba.pk)
        return Response(WabaSerializer(waba, context=self.context()).data, status=code)


class WabaDetail(_WabaView):
    @extend_schema(responses=WabaSerializer)
    def get(self, request: Request, waba_pk: int) -> Response:
        return self.waba_answer(selectors.waba_access(waba_pk=waba_pk))


class WabaSync(_WabaView):
    """Read the account and its numbers from Meta now ("Sync now"): 202, then
    ``last_synced_at`` moves and ``sync_error`` says what went wrong, if anything.
    409 for an account that is not connected."""

    permission_classes = [IsAuthenticated, IsManager]

    @extend_schema(request=None, responses={202: WabaSerializer})
    def post(self, request: Request, waba_pk: int) -> Response:
        waba = selectors.waba_access(waba_pk=waba_pk)
        wabas.waba_sync_request(actor=self.membership, waba=waba)
        return self.waba_answer(waba, status.HTTP_202_ACCEPTED)


class WabaDisconnect(_WabaView):
    """Disconnect the account: its webhooks stop, its token is discarded and its numbers
    stop sending; its history stays. Connect it again with ``reconnect/``."""

    permission_classes = [IsAuthenticated, IsManager]

    @extend_schema(request=None, responses={200: WabaSerializer})
    def post(self, request: Request, waba_pk: int) -> Response:
        waba = selectors.waba_access(waba_pk=waba_pk)
        waba = wabas.waba_disconnect(actor=self.membership, waba=waba)
        return self.waba_answer(waba)


class EmbeddedSignupSerializer(serializers.Serializer[Any]):
    app_id = serializers.CharField(help_text="Meta app id for FB.init / FB.login.")
    config_id = serializers.CharField(help_text="The Embedded Signup configuration id.")
    graph_version = serializers.CharField(help_text="Such as v23.0.")
    dialog_url = serializers.CharField(
        allow_blank=True, help_text="Where the signup window opens, when it is not Meta's SDK."
    )


class ReconnectSerializer(serializers.Serializer[Any]):
    waba = serializers.IntegerField(help_text="Our id of the account.")
    waba_id = serializers.CharField(help_text="Meta's id: choose this account in Meta's window.")
    needs_reconnect = serializers.BooleanField()
    connection_status = serializers.ChoiceField(choices=ConnectionStatus.choices)
    problem = ProblemSerializer(allow_null=True)
    embedded_signup = EmbeddedSignupSerializer()
    post_result_to = serializers.CharField(help_text="This address: POST the signup result.")
    connect_page = serializers.CharField(help_text="The portal page that runs the signup.")
    steps = serializers.ListField(child=serializers.CharField())


class WabaReconnect(_WabaView):
    """Connect the account again (after a disconnect or when Meta refused our access).

    A program cannot grant access for the business: a person does, in Meta's Embedded
    Signup window, in a browser. GET says what it takes (the app and configuration
    ids, the account to choose); POST the window's result (``code`` and the session
    info, as the connect page posts it) starts the onboarding for this account on the
    same records (201, follow it at ``onboardings/<id>/``). Another account chosen in
    the window answers 400 ``signup_other_waba``; an account that works, 409."""

    permission_classes = [IsAuthenticated, IsManager]

    @extend_schema(responses=ReconnectSerializer)
    def get(self, request: Request, waba_pk: int) -> Response:
        waba = selectors.waba_access(waba_pk=waba_pk)
        slug = self.context()["tenant_slug"]
        needed = wabas.waba_reconnect_needed(waba)
        steps = [
            _(
                "In a browser, as an admin of the business, open Meta's Embedded Signup "
                "with app_id and config_id (FB.login), or use the connect page."
            ),
            _("In Meta's window, choose the WhatsApp Business Account %(waba_id)s.")
            % {"waba_id": waba.waba_id},
            _(
                "POST the code and the session info the window hands over to post_result_to; "
                "then follow the onboarding it answers."
            ),
        ]
        return Response(
            {
                "waba": waba.pk,
                "waba_id": waba.waba_id,
                "needs_reconnect": needed,
                "connection_status": waba.connection_status,
                "problem": problem_payload(waba.problem, slug),
                "embedded_signup": {
                    "app_id": settings.META_APP_ID,
                    "config_id": settings.META_CONFIG_ID,
                    "graph_version": settings.GRAPH_API_VERSION,
                    "dialog_url": settings.EMBEDDED_SIGNUP_URL or "",
                },
                "post_result_to": request.build_absolute_uri(request.path),
                "connect_page": request.build_absolute_uri(
                    reverse("senders:index", kwargs={"tenant_slug": slug})
                ),
                "steps": steps if needed else [],
            }
        )

    @extend_schema(
        request=SignupResultSerializer,
        responses={201: OnboardingSerializer},
        examples=[SIGNUP_EXAMPLE],
    )
    @idempotent
    def post(self, request: Request, waba_pk: int) -> Response:
        waba = selectors.waba_access(waba_pk=waba_pk)
        code, session = signup_result(request)
        onboarding = wabas.waba_reconnect(
            actor=self.membership, waba=waba, code=code, session=session
        )
        onboarding.refresh_from_db()
        return Response(
            OnboardingSerializer(onboarding, context=self.context()).data,
            status=status.HTTP_201_CREATED,
        )


# --- Phone numbers -----------------------------------------------------------------------


class PhoneNumberList(ListModelMixin, TenantListAPIView):
    """The workspace's numbers, newest first."""

    serializer_class = PhoneNumberSerializer
    filterset_class = PhoneNumberFilter
    queryset = PhoneNumber.objects.none()  # the model, for the schema; see get_queryset

    def get_queryset(self) -> Any:
        return selectors.phone_list()

    def get(self, request: Request) -> Response:
        return self.list(request)


class PhoneNumberPrimary(TenantAPIView):
    """Make this number the primary sender (say, when the primary cannot send)."""

    permission_classes = [IsAuthenticated, IsManager]

    @extend_schema(request=None, responses=PhoneNumberSerializer)
    def post(self, request: Request, phone_pk: int) -> Response:
        phone = selectors.phone_access(phone_pk=phone_pk)
        phone = phone_numbers.phone_number_set_primary(actor=self.membership, phone=phone)
        return Response(PhoneNumberSerializer(phone, context=self.context()).data)


# --- Onboardings -------------------------------------------------------------------------


class OnboardingList(ListModelMixin, TenantListAPIView):
    """GET: the connection attempts, newest first. POST: start connecting a WABA with the
    result of Embedded Signup (code + session info), as the connect page does (201)."""

    permission_classes = [IsAuthenticated, IsManager]
    serializer_class = OnboardingSerializer
    filterset_class = OnboardingFilter
    queryset = Onboarding.objects.none()  # the model, for the schema; see get_queryset

    def get_queryset(self) -> Any:
        return Onboarding.objects.prefetch_related("steps")

    def get(self, request: Request) -> Response:
        return self.list(request)

    @extend_schema(
        request=OnboardingStartSerializer,
        responses={201: OnboardingSerializer},
        examples=[SIGNUP_EXAMPLE],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        target = None
        raw = request.data.get("target_waba") if isinstance(request.data, dict) else None
        if raw not in (None, ""):
            target_pk = parse_id(str(raw)) if isinstance(raw, int | str) else None
            if target_pk is None or isinstance(raw, bool):
                raise Invalid(
                    _("target_waba must be the id of a WhatsApp Business Account."),
                    field="target_waba",
                )
            target = selectors.waba_access(waba_pk=target_pk)
        code, session = signup_result(request)
        onboarding = onboarding_services.onboarding_start(
            actor=self.membership, code=code, session=session, target=target
        )
        onboarding.refresh_from_db()
        return Response(
            OnboardingSerializer(onboarding, context=self.context()).data,
            status=status.HTTP_201_CREATED,
        )


class _OnboardingView(TenantAPIView):
    permission_classes = [IsAuthenticated, IsManager]

    def answer(self, onboarding: Onboarding) -> Response:
        onboarding = selectors.onboarding_access(onboarding_pk=onboarding.pk)
        return Response(OnboardingSerializer(onboarding, context=self.context()).data)


class OnboardingDetail(_OnboardingView):
    permission_classes = [IsAuthenticated]  # a read for every member; no writes here

    @extend_schema(responses=OnboardingSerializer)
    def get(self, request: Request, onboarding_pk: int) -> Response:
        return self.answer(selectors.onboarding_access(onboarding_pk=onboarding_pk))


class OnboardingRetry(_OnboardingView):
    """Resume a failed onboarding from the step that failed (409 for any other)."""

    @extend_schema(request=None, responses=OnboardingSerializer)
    def post(self, request: Request, onboarding_pk: int) -> Response:
        onboarding = selectors.onboarding_access(onboarding_pk=onboarding_pk)
        onboarding = onboarding_services.onboarding_retry(
            actor=self.membership, onboarding=onboarding
        )
        return self.answer(onboarding)


class OnboardingDismiss(_OnboardingView):
    """Hide a failed attempt from the WhatsApp page (it stays here, ``dismissed_at``)."""

    @extend_schema(request=None, responses=OnboardingSerializer)
    def post(self, request: Request, onboarding_pk: int) -> Response:
        onboarding = selectors.onboarding_access(onboarding_pk=onboarding_pk)
        onboarding = onboarding_services.onboarding_dismiss(
            actor=self.membership, onboarding=onboarding
        )
        return self.answer(onboarding)
