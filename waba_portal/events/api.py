"""REST API of event webhooks: subscriptions, their delivery log, test events, redelivery.

``/api/v1/t/<slug>/event-subscriptions/...``, for owners and admins (and API keys with
the ``events`` scope, which act as admins). A subscription's secret is in the answer
that made it (create, rotate-secret) and in no other. Lists use cursor pagination
(``waba_portal.api_pagination``); POSTs that create or send take ``Idempotency-Key``.
"""

from __future__ import annotations

from typing import Any

import django_filters
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.mixins import ListModelMixin
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.idempotency import idempotent
from accounts.models import MANAGER_ROLES
from accounts.permissions import TenantRole
from waba_portal.api import TenantAPIView
from waba_portal.api_pagination import TenantListAPIView
from waba_portal.events import selectors
from waba_portal.events.models import (
    EVENT_TYPES,
    TEST_EVENT_TYPE,
    DeliveryStatus,
    Event,
    EventDelivery,
    EventDeliveryAttempt,
    EventSubscription,
)
from waba_portal.events.services import outbox, subscriptions

EVENT_CHOICES = list(EVENT_TYPES)


class ManagersOnly(TenantRole):
    """Owners and admins only, reads included: subscriptions say where data goes."""

    read_roles = frozenset(MANAGER_ROLES)


class SubscriptionSerializer(serializers.ModelSerializer[EventSubscription]):
    events = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_CHOICES))

    class Meta:
        model = EventSubscription
        fields = [
            "id",
            "url",
            "events",
            "description",
            "enabled",
            "disabled_reason",
            "previous_secret_expires_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class SubscriptionWithSecretSerializer(SubscriptionSerializer):
    secret = serializers.CharField(
        help_text="The signing secret (whsec_...): in this answer only, never again."
    )

    class Meta(SubscriptionSerializer.Meta):
        fields = [*SubscriptionSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class SubscriptionCreateSerializer(serializers.Serializer[Any]):
    url = serializers.CharField(max_length=2000, help_text="An https URL with a public address.")
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_CHOICES), min_length=1
    )
    description = serializers.CharField(
        max_length=255, required=False, allow_blank=True, default=""
    )
    enabled = serializers.BooleanField(required=False, default=True)


class SubscriptionUpdateSerializer(serializers.Serializer[Any]):
    url = serializers.CharField(max_length=2000, required=False)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_CHOICES), min_length=1, required=False
    )
    description = serializers.CharField(max_length=255, required=False, allow_blank=True)
    enabled = serializers.BooleanField(required=False)


class EventSerializer(serializers.ModelSerializer[Event]):
    id = serializers.CharField(source="public_id", help_text="Also the webhook-id header.")
    type = serializers.ChoiceField(choices=[*EVENT_CHOICES, TEST_EVENT_TYPE])
    timestamp = serializers.DateTimeField(source="created_at")
    data = serializers.DictField()  # type: ignore[assignment]  # the field, not .data

    class Meta:
        model = Event
        fields = ["id", "type", "timestamp", "data"]


class AttemptSerializer(serializers.ModelSerializer[EventDeliveryAttempt]):
    class Meta:
        model = EventDeliveryAttempt
        fields = [
            "number",
            "started_at",
            "duration_ms",
            "status_code",
            "succeeded",
            "error",
            "response_body",
        ]


class DeliverySerializer(serializers.ModelSerializer[EventDelivery]):
    event = EventSerializer()
    subscription = serializers.IntegerField(source="subscription_id")

    class Meta:
        model = EventDelivery
        fields = [
            "id",
            "subscription",
            "event",
            "status",
            "attempts",
            "next_attempt_at",
            "last_attempt_at",
            "last_status_code",
            "last_error",
            "created_at",
        ]


class DeliveryDetailSerializer(DeliverySerializer):
    attempt_log = AttemptSerializer(many=True)

    class Meta(DeliverySerializer.Meta):
        fields = [*DeliverySerializer.Meta.fields, "attempt_log"]


class SubscriptionFilter(django_filters.FilterSet):
    enabled = django_filters.BooleanFilter()

    class Meta:
        model = EventSubscription
        fields = ["enabled"]


class DeliveryFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=DeliveryStatus.choices)
    event_type = django_filters.ChoiceFilter(
        field_name="event__type",
        choices=[(t, t) for t in [*EVENT_CHOICES, TEST_EVENT_TYPE]],
    )

    class Meta:
        model = EventDelivery
        fields = ["status", "event_type"]


CREATE_EXAMPLE = OpenApiExample(
    "Subscribe to messages",
    request_only=True,
    value={
        "url": "https://example.com/webhooks/waba",
        "events": ["message.received", "message.status"],
        "description": "CRM",
    },
)


class SubscriptionList(ListModelMixin, TenantListAPIView):
    """The workspace's event subscriptions; a new one answers its secret once."""

    permission_classes = [IsAuthenticated, ManagersOnly]
    serializer_class = SubscriptionSerializer
    filterset_class = SubscriptionFilter
    queryset = EventSubscription.objects.none()  # the model, for the schema; see get_queryset

    def get_queryset(self) -> Any:
        return selectors.subscription_list()

    def get(self, request: Request) -> Response:
        return self.list(request)

    @extend_schema(
        request=SubscriptionCreateSerializer,
        responses={201: SubscriptionWithSecretSerializer},
        examples=[CREATE_EXAMPLE],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        body = SubscriptionCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        subscription, secret = subscriptions.subscription_create(
            actor=self.membership, **body.validated_data
        )
        data = {**SubscriptionSerializer(subscription).data, "secret": str(secret)}
        return Response(data, status=status.HTTP_201_CREATED)


class SubscriptionDetail(TenantAPIView):
    permission_classes = [IsAuthenticated, ManagersOnly]

    @extend_schema(responses=SubscriptionSerializer)
    def get(self, request: Request, subscription_pk: int) -> Response:
        subscription = selectors.subscription_access(subscription_pk=subscription_pk)
        return Response(SubscriptionSerializer(subscription).data)

    @extend_schema(request=SubscriptionUpdateSerializer, responses=SubscriptionSerializer)
    def patch(self, request: Request, subscription_pk: int) -> Response:
        subscription = selectors.subscription_access(subscription_pk=subscription_pk)
        body = SubscriptionUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        subscription = subscriptions.subscription_update(
            actor=self.membership, subscription=subscription, **body.validated_data
        )
        return Response(SubscriptionSerializer(subscription).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, subscription_pk: int) -> Response:
        subscription = selectors.subscription_access(subscription_pk=subscription_pk)
        subscriptions.subscription_delete(actor=self.membership, subscription=subscription)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SubscriptionRotateSecret(TenantAPIView):
    """A new signing secret, in this answer only; the old one signs beside it for a day."""

    permission_classes = [IsAuthenticated, ManagersOnly]

    @extend_schema(request=None, responses={200: SubscriptionWithSecretSerializer})
    @idempotent
    def post(self, request: Request, subscription_pk: int) -> Response:
        subscription = selectors.subscription_access(subscription_pk=subscription_pk)
        subscription, secret = subscriptions.subscription_rotate_secret(
            actor=self.membership, subscription=subscription
        )
        return Response({**SubscriptionSerializer(subscription).data, "secret": str(secret)})


class SubscriptionTest(TenantAPIView):
    """Send a ``webhook.test`` event to this subscription (one try, no retries)."""

    permission_classes = [IsAuthenticated, ManagersOnly]

    @extend_schema(request=None, responses={202: DeliverySerializer})
    @idempotent
    def post(self, request: Request, subscription_pk: int) -> Response:
        subscription = selectors.subscription_access(subscription_pk=subscription_pk)
        delivery = outbox.subscription_send_test(actor=self.membership, subscription=subscription)
        delivery.refresh_from_db()
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


class DeliveryList(ListModelMixin, TenantListAPIView):
    """The subscription's deliveries, newest first."""

    permission_classes = [IsAuthenticated, ManagersOnly]
    serializer_class = DeliverySerializer
    filterset_class = DeliveryFilter
    queryset = EventDelivery.objects.none()  # the model, for the schema; see get_queryset

    def get_queryset(self) -> Any:
        subscription = selectors.subscription_access(subscription_pk=self.kwargs["subscription_pk"])
        return selectors.delivery_list(subscription=subscription)

    def get(self, request: Request, subscription_pk: int) -> Response:
        return self.list(request)


class DeliveryDetail(TenantAPIView):
    """One delivery with every attempt: status, time, a truncated answer."""

    permission_classes = [IsAuthenticated, ManagersOnly]

    @extend_schema(responses=DeliveryDetailSerializer)
    def get(self, request: Request, subscription_pk: int, delivery_pk: int) -> Response:
        subscription = selectors.subscription_access(subscription_pk=subscription_pk)
        delivery = selectors.delivery_access(subscription=subscription, delivery_pk=delivery_pk)
        return Response(DeliveryDetailSerializer(delivery).data)


class DeliveryRedeliver(TenantAPIView):
    """Send a finished delivery's event again, as a new delivery (409 while it is open)."""

    permission_classes = [IsAuthenticated, ManagersOnly]

    @extend_schema(request=None, responses={202: DeliverySerializer})
    @idempotent
    def post(self, request: Request, subscription_pk: int, delivery_pk: int) -> Response:
        subscription = selectors.subscription_access(subscription_pk=subscription_pk)
        delivery = selectors.delivery_access(subscription=subscription, delivery_pk=delivery_pk)
        again = outbox.delivery_redeliver(actor=self.membership, delivery=delivery)
        again.refresh_from_db()
        return Response(DeliverySerializer(again).data, status=status.HTTP_202_ACCEPTED)
