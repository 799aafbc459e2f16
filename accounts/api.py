"""REST API of accounts: the workspace itself (``GET /api/v1/t/<slug>/``).

It answers every credential of the workspace, whatever its scopes, and says who is
asking: a member's role, or a key's name, prefix, scopes and expiry.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import API_RESOURCE_GROUPS, ApiKey, ApiScope, Role, Tenant
from waba_portal.api import ANY_GROUP, TenantAPIView


class WhenGiven(serializers.DateTimeField):
    """A time that may be null, left out where the credential has none (a session)."""

    def get_attribute(self, instance: Any) -> Any:
        if isinstance(instance, dict) and self.source not in instance:
            raise serializers.SkipField()
        return super().get_attribute(instance)


class CredentialSerializer(serializers.Serializer[Any]):
    type = serializers.ChoiceField(
        choices=["api_key", "session"], help_text="How this request authenticated."
    )
    role = serializers.ChoiceField(
        choices=Role.choices, help_text="The role it acts with (a key acts as an admin)."
    )
    name = serializers.CharField(required=False, help_text="The key's name.")
    prefix = serializers.CharField(required=False, help_text="The key's first characters.")
    scopes = serializers.DictField(
        child=serializers.ChoiceField(choices=ApiScope.choices),
        required=False,
        help_text=f"Resource group ({', '.join(API_RESOURCE_GROUPS)}) -> read or write.",
    )
    expires_at = WhenGiven(
        required=False, allow_null=True, help_text="When the key stops working (null: never)."
    )


class TenantSerializer(serializers.ModelSerializer[Tenant]):
    credential = serializers.SerializerMethodField()

    class Meta:
        model = Tenant
        fields = ["id", "name", "slug", "created_at", "two_factor_required", "credential"]

    @staticmethod
    def credential_of(request: Request) -> dict[str, Any]:
        key = request.auth
        if isinstance(key, ApiKey):
            return {
                "type": "api_key",
                "role": Role.ADMIN.value,
                "name": key.name,
                "prefix": key.prefix,
                "scopes": dict(key.scopes or {}),
                "expires_at": key.expires_at,
            }
        membership = request._request.membership  # type: ignore[attr-defined]
        return {"type": "session", "role": membership.role}

    @extend_schema_field(CredentialSerializer)
    def get_credential(self, tenant: Tenant) -> dict[str, Any]:
        return CredentialSerializer(self.credential_of(self.context["request"])).data


class TenantDetail(TenantAPIView):
    """The workspace, and the credential's role and scopes."""

    resource_group = ANY_GROUP

    @extend_schema(
        responses=TenantSerializer,
        examples=[
            OpenApiExample(
                "With an API key",
                value={
                    "id": 7,
                    "name": "Acme",
                    "slug": "acme",
                    "created_at": "2026-01-05T09:30:00+00:00",
                    "two_factor_required": False,
                    "credential": {
                        "type": "api_key",
                        "role": "admin",
                        "name": "CRM sync",
                        "prefix": "wbp_live_Ab12Cd34",
                        "scopes": {"senders": "read", "inbox": "write"},
                        "expires_at": None,
                    },
                },
            )
        ],
    )
    def get(self, request: Request) -> Response:
        tenant = request._request.tenant  # type: ignore[attr-defined]
        return Response(TenantSerializer(tenant, context=self.context()).data)
