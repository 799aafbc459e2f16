"""REST API: adding a phone number to a connected WABA (``POST phone-numbers/``).

The body names the account by our id (``waba``, as ``GET wabas/`` lists it), the
``country`` (ISO 3166 region, e.g. ``DE``), the ``number`` (as dialled there, or
international with ``+``) and the ``display_name``. The checks are the add page's
(``senders.services.number_add``); each refusal is the one error body, with the field
problems in ``details.fields`` and, where a troubleshooting entry fixes it, the entry
in ``details.problem``. Owners and admins add; agents get 403. ``GET`` still lists the
workspace's numbers for every member.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.idempotency import idempotent
from accounts.permissions import IsManager
from senders import selectors
from senders.api.accounts import PhoneNumberList, PhoneNumberSerializer
from senders.services import number_add, number_rules
from senders.services.display_name_rules import display_name_warnings


class NumberAddSerializer(serializers.Serializer[dict[str, Any]]):
    """The shape of the body only; what the values may be is the service's to say."""

    waba = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    country = serializers.CharField(required=False, allow_blank=True, max_length=8, default="")
    number = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=number_rules.NUMBER_MAX_LENGTH,
        default="",
    )
    display_name = serializers.CharField(
        required=False, allow_blank=True, max_length=200, default="", trim_whitespace=True
    )


class NumberAddedSerializer(PhoneNumberSerializer):
    """The number just added, with what the checks found out about it."""

    international = serializers.CharField(help_text="Such as +44 7400 123456.")
    region = serializers.CharField(help_text="ISO 3166 region of the number.")
    number_type = serializers.CharField(help_text="mobile, fixed_line, voip, ...")
    notes = serializers.ListField(child=serializers.CharField())
    display_name_warnings = serializers.ListField(
        child=serializers.CharField(),
        help_text="Why Meta may refuse the display name (it was sent all the same).",
    )

    class Meta(PhoneNumberSerializer.Meta):
        fields = [
            *PhoneNumberSerializer.Meta.fields,
            "international",
            "region",
            "number_type",
            "notes",
            "display_name_warnings",
        ]


class PhoneNumberListCreate(PhoneNumberList):
    """The workspace's numbers (GET, every member); add one to an account (POST, managers)."""

    permission_classes = [IsAuthenticated, IsManager]

    @extend_schema(
        request=NumberAddSerializer,
        responses={201: NumberAddedSerializer},
        examples=[
            OpenApiExample(
                "A UK mobile number",
                request_only=True,
                value={
                    "waba": 3,
                    "country": "GB",
                    "number": "07400 123456",
                    "display_name": "Acme London",
                },
            )
        ],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        body = NumberAddSerializer(data=request.data)
        if not body.is_valid():
            return self.error(
                status.HTTP_400_BAD_REQUEST,
                "invalid",
                _("The request has invalid fields; see details."),
                {"fields": body.errors},
            )
        data = body.validated_data
        waba = selectors.waba_access(waba_pk=data["waba"])
        phone = number_add.number_add(
            actor=self.membership,
            waba=waba,
            country=data["country"],
            number=data["number"],
            display_name=data["display_name"],
        )
        phone = selectors.phone_access(phone_pk=phone.pk)
        details = phone.details.first()
        notes = [number_rules.voip_note()] if details and details.number_type == "voip" else []
        answer = dict(PhoneNumberSerializer(phone, context=self.context()).data)
        answer.update(
            {
                "e164": details.e164 if details else "",
                "international": number_rules.international_format(details.e164)
                if details
                else phone.display_phone_number,
                "region": details.region if details else "",
                "number_type": details.number_type if details else "",
                "notes": notes,
                "display_name_warnings": display_name_warnings(
                    data["display_name"], business_name=waba.name
                ),
            }
        )
        return Response(answer, status=status.HTTP_201_CREATED)
