"""REST API: a number's display name and its Official Business Account badge.

- ``phone-numbers/<id>/display-name/``: GET the name, its status and the change under
  way (``change``: in review, rejected with Meta's reason and the fix, or approved and
  waiting for the number to be registered again); POST ``{"name", "confirm_warnings"}``
  asks Meta for a new name (202). A name Meta surely refuses answers 400
  ``display_name_invalid``; one it usually refuses answers 400
  ``display_name_warnings`` until ``confirm_warnings`` is true; both list the reasons in
  ``details.fields.name``.
- ``.../display-name/check/``: POST ``{"name"}`` → ``{"problems", "warnings"}``, nothing
  is sent to Meta.
- ``.../display-name/register/``: POST registers the number again, once Meta approved a
  new name (202).
- ``phone-numbers/<id>/official-business-account/``: GET the badge's status and the
  last request; POST Meta's fields asks for it (201).
- ``.../official-business-account/refresh/``: POST reads the status from Meta now.

Reads are for every member, writes for owners and admins; the services' refusals are
answered by ``waba_portal.api.exception_handler`` with the pages' messages.
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
from senders import troubleshooting as ts
from senders.api.accounts import ProblemSerializer, problem_payload
from senders.models import OfficialBusinessRequest, OfficialBusinessStatus, PhoneNumber
from senders.services import display_name_rules, display_names, official_business
from waba_portal.api import TenantAPIView
from waba_portal.errors import Invalid


def json_object(request: Request) -> dict[str, Any]:
    """The request's body as a JSON object, or ``Invalid``."""
    data = request.data
    if not isinstance(data, dict):
        raise Invalid(_("The request body must be a JSON object."), code="invalid")
    return dict(data)


def _text(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    return value if isinstance(value, str) else ""


def display_name_payload(phone: PhoneNumber, tenant_slug: str) -> dict[str, Any]:
    change = selectors.display_name_change(phone=phone)
    body: dict[str, Any] = {
        "phone_number": phone.pk,
        "verified_name": phone.verified_name,
        "name_status": phone.name_status,
        "change": None,
        "rules": {
            "min_length": display_name_rules.DISPLAY_NAME_MIN_LENGTH,
            "max_length": display_name_rules.DISPLAY_NAME_MAX_LENGTH,
            "changes_per_30_days": display_names.CHANGES_PER_WINDOW,
        },
    }
    if change is not None:
        body["change"] = {
            "state": change.state,
            "name": change.name,
            "keeps_current_name": change.is_change,
            "rejection_reason": change.reason,
            "rejection_reason_words": display_names.rejection_reason_words(change.reason),
            "requested_at": change.requested_at,
            "decided_at": change.decided_at,
            "register_by": change.register_by,
            "problem": problem_payload(ts.DISPLAY_NAME_REJECTED, tenant_slug)
            if change.state == selectors.NAME_REJECTED
            else None,
        }
    return body


def oba_payload(phone: PhoneNumber, tenant_slug: str) -> dict[str, Any]:
    latest: OfficialBusinessRequest | None = selectors.oba_latest(phone=phone)
    blockers = official_business.oba_blockers(phone=phone)
    status_value = latest.status if latest else OfficialBusinessStatus.NOT_STARTED
    if phone.is_official_business_account:
        status_value = OfficialBusinessStatus.APPROVED
    request_body = None
    if latest is not None:
        request_body = {
            "id": latest.pk,
            "status": latest.status,
            "business_website_url": latest.business_website_url,
            "primary_country_of_operation": latest.primary_country_of_operation,
            "primary_language": latest.primary_language,
            "supporting_links": latest.supporting_links,
            "parent_business_or_brand": latest.parent_business_or_brand,
            "additional_supporting_information": latest.additional_supporting_information,
            "rejection_reason": latest.rejection_reason,
            "submitted_at": latest.submitted_at,
            "decided_at": latest.decided_at,
        }
    return {
        "phone_number": phone.pk,
        "is_official_business_account": phone.is_official_business_account,
        "status": status_value,
        "status_label": official_business.status_label(status_value),
        "can_request": not blockers,
        "blockers": blockers,
        "request": request_body,
        "problem": problem_payload(ts.OFFICIAL_BUSINESS_REJECTED, tenant_slug)
        if status_value == OfficialBusinessStatus.REJECTED
        else None,
    }


class NameChangeSerializer(serializers.Serializer[Any]):
    state = serializers.ChoiceField(
        choices=[selectors.NAME_IN_REVIEW, selectors.NAME_REJECTED, selectors.NAME_APPROVED]
    )
    name = serializers.CharField()
    keeps_current_name = serializers.BooleanField(
        help_text="A change of an approved name: the number sends under the old one meanwhile."
    )
    rejection_reason = serializers.CharField(help_text="Meta's code or words; empty if none.")
    rejection_reason_words = serializers.CharField()
    requested_at = serializers.DateTimeField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    register_by = serializers.DateTimeField(
        allow_null=True, help_text="Approved: register again (display-name/register/) by then."
    )
    problem = ProblemSerializer(allow_null=True)


class NameRulesSerializer(serializers.Serializer[Any]):
    min_length = serializers.IntegerField()
    max_length = serializers.IntegerField()
    changes_per_30_days = serializers.IntegerField()


class DisplayNameSerializer(serializers.Serializer[Any]):
    phone_number = serializers.IntegerField(help_text="Our id of the number.")
    verified_name = serializers.CharField()
    name_status = serializers.CharField(help_text="Meta's status of the current name.")
    change = NameChangeSerializer(allow_null=True)
    rules = NameRulesSerializer()


class NameRequestSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(help_text="The new display name.")
    confirm_warnings = serializers.BooleanField(
        required=False, default=False, help_text="Send it although Meta usually refuses it."
    )


class NameCheckRequestSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()


class NameCheckSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    problems = serializers.ListField(
        child=serializers.CharField(), help_text="Why Meta surely refuses it."
    )
    warnings = serializers.ListField(
        child=serializers.CharField(), help_text="Why Meta usually refuses it."
    )


class ObaRequestSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=OfficialBusinessStatus.choices)
    business_website_url = serializers.CharField()
    primary_country_of_operation = serializers.CharField()
    primary_language = serializers.CharField()
    supporting_links = serializers.ListField(child=serializers.CharField())
    parent_business_or_brand = serializers.CharField()
    additional_supporting_information = serializers.CharField()
    rejection_reason = serializers.CharField()
    submitted_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)


class ObaSerializer(serializers.Serializer[Any]):
    phone_number = serializers.IntegerField(help_text="Our id of the number.")
    is_official_business_account = serializers.BooleanField()
    status = serializers.ChoiceField(choices=OfficialBusinessStatus.choices)
    status_label = serializers.CharField()
    can_request = serializers.BooleanField()
    blockers = serializers.ListField(
        child=serializers.CharField(), help_text="What stops a request now, each with the fix."
    )
    request = ObaRequestSerializer(allow_null=True, help_text="The last request, if any.")
    problem = ProblemSerializer(allow_null=True)


class ObaSubmitSerializer(serializers.Serializer[Any]):
    business_website_url = serializers.CharField()
    primary_country_of_operation = serializers.CharField(help_text="ISO 3166 code, such as DE.")
    primary_language = serializers.CharField(help_text="Such as de or en_US.")
    supporting_links = serializers.ListField(
        child=serializers.CharField(), help_text="Articles about the business."
    )
    parent_business_or_brand = serializers.CharField(required=False, allow_blank=True)
    additional_supporting_information = serializers.CharField(required=False, allow_blank=True)


class DisplayNameDetail(TenantAPIView):
    permission_classes = [IsAuthenticated, IsManager]

    @extend_schema(responses=DisplayNameSerializer)
    def get(self, request: Request, phone_pk: int) -> Response:
        phone = selectors.phone_access(phone_pk=phone_pk)
        return Response(display_name_payload(phone, self.context()["tenant_slug"]))

    @extend_schema(
        request=NameRequestSerializer,
        responses={202: DisplayNameSerializer},
        examples=[OpenApiExample("A new name", request_only=True, value={"name": "Acme Shop"})],
    )
    @idempotent
    def post(self, request: Request, phone_pk: int) -> Response:
        phone = selectors.phone_access(phone_pk=phone_pk)
        data = json_object(request)
        phone = display_names.display_name_request(
            actor=self.membership,
            phone=phone,
            name=_text(data, "name"),
            confirm_warnings=data.get("confirm_warnings") is True,
        )
        return Response(
            display_name_payload(phone, self.context()["tenant_slug"]),
            status=status.HTTP_202_ACCEPTED,
        )


class DisplayNameCheck(TenantAPIView):
    """Meta's rules we can check, for a name, without sending it (any member, and keys
    with the read scope: nothing changes)."""

    reads_only = True

    @extend_schema(request=NameCheckRequestSerializer, responses=NameCheckSerializer)
    def post(self, request: Request, phone_pk: int) -> Response:
        phone = selectors.phone_access(phone_pk=phone_pk)
        name = _text(json_object(request), "name")
        business = phone.waba.name
        return Response(
            {
                "name": name.strip(),
                "problems": display_name_rules.display_name_problems(name, business_name=business),
                "warnings": display_name_rules.display_name_warnings(name, business_name=business),
            }
        )


class DisplayNameRegister(TenantAPIView):
    permission_classes = [IsAuthenticated, IsManager]

    @extend_schema(request=None, responses={202: DisplayNameSerializer})
    def post(self, request: Request, phone_pk: int) -> Response:
        phone = selectors.phone_access(phone_pk=phone_pk)
        display_names.display_name_register_again(actor=self.membership, phone=phone)
        return Response(
            display_name_payload(phone, self.context()["tenant_slug"]),
            status=status.HTTP_202_ACCEPTED,
        )


class OfficialBusinessDetail(TenantAPIView):
    permission_classes = [IsAuthenticated, IsManager]

    @extend_schema(responses=ObaSerializer)
    def get(self, request: Request, phone_pk: int) -> Response:
        phone = selectors.phone_access(phone_pk=phone_pk)
        return Response(oba_payload(phone, self.context()["tenant_slug"]))

    @extend_schema(request=ObaSubmitSerializer, responses={201: ObaSerializer})
    @idempotent
    def post(self, request: Request, phone_pk: int) -> Response:
        phone = selectors.phone_access(phone_pk=phone_pk)
        data = json_object(request)
        official_business.oba_submit(actor=self.membership, phone=phone, data=data)
        return Response(
            oba_payload(phone, self.context()["tenant_slug"]), status=status.HTTP_201_CREATED
        )


class OfficialBusinessRefresh(TenantAPIView):
    permission_classes = [IsAuthenticated, IsManager]

    @extend_schema(request=None, responses=ObaSerializer)
    def post(self, request: Request, phone_pk: int) -> Response:
        phone = selectors.phone_access(phone_pk=phone_pk)
        official_business.oba_refresh_now(actor=self.membership, phone=phone)
        phone.refresh_from_db()
        return Response(oba_payload(phone, self.context()["tenant_slug"]))
