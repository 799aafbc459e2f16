"""REST API of a number's channel settings and of the members' roles on the channel.

- ``phone-numbers/<id>/channel/``: GET the settings (made with the defaults on first
  read), PATCH any of them: ``name``, ``display_name``, ``tariff`` (a code of
  ``tariffs``), ``auto_assign``, ``auto_resolve_new_days``, ``auto_resolve_pending_days``
  (1 to 365), ``all_users``, ``all_teams``, ``teams`` (ids of this workspace's teams,
  or the objects GET answers). All or nothing; every refused field is in
  ``error.details.fields``. Read-only fields sent back as GET answered them are ignored.
- ``phone-numbers/<id>/channel/members/``: GET every member of the workspace with their
  role on the channel and why; POST ``{"membership", "role"}`` gives an agent a role of
  their own (409 if they have one).
- ``phone-numbers/<id>/channel/members/<membership id>/``: GET that member's access,
  PATCH ``{"role"}`` sets their own role, DELETE takes it away (204, also when they had
  none): they keep what "all users" or their teams give.

Every member reads; owners and admins write. The rules are the service's
(``senders.services.channels``), so the API refuses what the page refuses, in the
same words.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.mixins import ListModelMixin
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import selectors as account_selectors
from accounts.idempotency import idempotent
from accounts.models import Membership, Role
from accounts.permissions import IsManager
from senders import selectors
from senders.models import ChannelRole, ChannelSettings
from senders.services import channels
from waba_portal.api import TenantAPIView
from waba_portal.api_pagination import TenantListAPIView
from waba_portal.errors import Invalid
from waba_portal.guards import parse_id

# What GET answers that PATCH cannot change: sent back, it is ignored.
READ_ONLY_FIELDS = frozenset(
    {"id", "phone_number", "tariff_label", "tariffs", "your_role", "updated_at"}
)


class TariffSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # the field, not Field.label


class ChannelTeamSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ChannelSerializer(serializers.ModelSerializer[ChannelSettings]):
    phone_number = serializers.IntegerField(source="phone_number_id", read_only=True)
    tariff_label = serializers.SerializerMethodField()
    tariffs = serializers.SerializerMethodField()
    teams = serializers.SerializerMethodField()
    your_role = serializers.SerializerMethodField()

    def get_tariff_label(self, channel: ChannelSettings) -> str:
        return channels.tariff_label(channel.tariff)

    @extend_schema_field(TariffSerializer(many=True))
    def get_tariffs(self, channel: ChannelSettings) -> list[dict[str, str]]:
        return [{"code": code, "label": label} for code, label in channels.tariff_choices()]

    @extend_schema_field(ChannelTeamSerializer(many=True))
    def get_teams(self, channel: ChannelSettings) -> list[dict[str, Any]]:
        rows = channel.teams.select_related("team").order_by("team__name")
        return [{"id": row.team_id, "name": row.team.name} for row in rows]

    @extend_schema_field(serializers.ChoiceField(choices=ChannelRole.choices, allow_null=True))
    def get_your_role(self, channel: ChannelSettings) -> str | None:
        return selectors.channel_role_for(self.context["membership"], channel)

    class Meta:
        model = ChannelSettings
        fields = [
            "id",
            "phone_number",
            "name",
            "display_name",
            "tariff",
            "tariff_label",
            "tariffs",
            "auto_assign",
            "auto_resolve_new_days",
            "auto_resolve_pending_days",
            "all_users",
            "all_teams",
            "teams",
            "your_role",
            "updated_at",
        ]
        read_only_fields = fields


class ChannelUpdateSerializer(serializers.Serializer[Any]):
    """Any of the settings; the rules are the service's (the page's)."""

    name = serializers.CharField(required=False)
    display_name = serializers.CharField(required=False)
    tariff = serializers.CharField(required=False, help_text="A code of tariffs.")
    auto_assign = serializers.BooleanField(required=False)
    auto_resolve_new_days = serializers.IntegerField(required=False, min_value=1, max_value=365)
    auto_resolve_pending_days = serializers.IntegerField(required=False, min_value=1, max_value=365)
    all_users = serializers.BooleanField(required=False)
    all_teams = serializers.BooleanField(required=False)
    teams = serializers.ListField(
        child=serializers.IntegerField(), required=False, help_text="Ids of teams."
    )


class ChannelAccessSerializer(serializers.Serializer[Any]):
    """A member's access to the channel: their role on it and why."""

    membership = serializers.IntegerField(help_text="Our id of the workspace member.")
    email = serializers.EmailField()
    full_name = serializers.CharField()
    workspace_role = serializers.ChoiceField(choices=Role.choices)
    role = serializers.ChoiceField(choices=ChannelRole.choices, allow_null=True)
    own_role = serializers.ChoiceField(
        choices=ChannelRole.choices, allow_null=True, help_text="The role given on this channel."
    )
    source = serializers.CharField(help_text="Where the role comes from.")  # type: ignore[assignment]  # the field, not .source
    why = serializers.CharField()


class MemberAddSerializer(serializers.Serializer[Any]):
    membership = serializers.IntegerField(help_text="Our id of an agent of this workspace.")
    role = serializers.ChoiceField(choices=ChannelRole.choices)


class MemberRoleSerializer(serializers.Serializer[Any]):
    role = serializers.ChoiceField(choices=ChannelRole.choices)


class MemberFilter(django_filters.FilterSet):
    workspace_role = django_filters.ChoiceFilter(field_name="role", choices=Role.choices)

    class Meta:
        model = Membership
        fields = ["workspace_role"]


def access_payload(access: selectors.ChannelAccess) -> dict[str, Any]:
    member = access.membership
    return {
        "membership": member.pk,
        "email": member.user.email,
        "full_name": member.user.full_name,
        "workspace_role": member.role,
        "role": access.role.value if access.role else None,
        "own_role": access.own_role.value if access.own_role else None,
        "source": access.source,
        "why": access.source_words,
    }


def _object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise Invalid(_("Send the request body as a JSON object."), code="malformed_json")
    return data


def _json_id(value: Any) -> int | None:
    """An id from a JSON body, a number or a string of digits; anything else is None."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return parse_id(value) if isinstance(value, str) else None


def _team_ids(value: Any) -> Any:
    """Teams as ids, or as the ``{"id", "name"}`` objects GET answers."""
    if isinstance(value, list):
        return [item.get("id") if isinstance(item, dict) else item for item in value]
    return value


class _ChannelView(TenantAPIView):
    permission_classes = [IsAuthenticated, IsManager]

    def channel(self, phone_pk: int) -> ChannelSettings:
        phone = selectors.phone_access(phone_pk=phone_pk)
        return channels.channel_ensure(phone=phone)

    def context(self) -> dict[str, Any]:
        return {**super().context(), "membership": self.membership}


class ChannelDetail(_ChannelView):
    @extend_schema(responses=ChannelSerializer)
    def get(self, request: Request, phone_pk: int) -> Response:
        channel = self.channel(phone_pk)
        return Response(ChannelSerializer(channel, context=self.context()).data)

    @extend_schema(request=ChannelUpdateSerializer, responses=ChannelSerializer)
    def patch(self, request: Request, phone_pk: int) -> Response:
        channel = self.channel(phone_pk)
        changes = {k: v for k, v in _object(request.data).items() if k not in READ_ONLY_FIELDS}
        if "teams" in changes:
            changes["teams"] = _team_ids(changes["teams"])
        channel = channels.channel_update(actor=self.membership, channel=channel, changes=changes)
        return Response(ChannelSerializer(channel, context=self.context()).data)


class ChannelMemberList(ListModelMixin, TenantListAPIView, _ChannelView):
    """GET: every member of the workspace with their access to the channel (paged by
    member, filtered by ``workspace_role``). POST: give an agent a role of their own."""

    serializer_class = ChannelAccessSerializer
    filterset_class = MemberFilter
    queryset = Membership.objects.none()  # the model, for the schema; see get_queryset

    def get_queryset(self) -> Any:
        return account_selectors.member_list()

    def get(self, request: Request, phone_pk: int) -> Response:
        channel = self.channel(phone_pk)
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        table = selectors.channel_access_table(channel=channel, members=page)
        return self.get_paginated_response([access_payload(access) for access in table])

    @extend_schema(request=MemberAddSerializer, responses={201: ChannelAccessSerializer})
    @idempotent
    def post(self, request: Request, phone_pk: int) -> Response:
        channel = self.channel(phone_pk)
        data = _object(request.data)
        membership_pk = _json_id(data.get("membership"))
        member = (
            account_selectors.member_list().filter(pk=membership_pk).first()
            if membership_pk is not None
            else None
        )
        if member is None:
            # Another workspace's member reads as no member at all.
            raise Invalid(channels.member_unknown_message(), field="membership")
        channels.channel_member_add(
            actor=self.membership, channel=channel, membership=member, role=data.get("role")
        )
        access = selectors.channel_access_for(member, channel)
        return Response(access_payload(access), status=status.HTTP_201_CREATED)


class ChannelMemberDetail(_ChannelView):
    @extend_schema(responses=ChannelAccessSerializer)
    def get(self, request: Request, phone_pk: int, membership_pk: int) -> Response:
        channel = self.channel(phone_pk)
        member = account_selectors.membership_access(membership_pk=membership_pk)
        return Response(access_payload(selectors.channel_access_for(member, channel)))

    @extend_schema(request=MemberRoleSerializer, responses=ChannelAccessSerializer)
    def patch(self, request: Request, phone_pk: int, membership_pk: int) -> Response:
        channel = self.channel(phone_pk)
        member = account_selectors.membership_access(membership_pk=membership_pk)
        role = _object(request.data).get("role")
        channels.channel_member_set(
            actor=self.membership, channel=channel, membership=member, role=role
        )
        return Response(access_payload(selectors.channel_access_for(member, channel)))

    @extend_schema(responses={204: None})
    def delete(self, request: Request, phone_pk: int, membership_pk: int) -> Response:
        channel = self.channel(phone_pk)
        member = account_selectors.membership_access(membership_pk=membership_pk)
        channels.channel_member_remove(actor=self.membership, channel=channel, membership=member)
        return Response(status=status.HTTP_204_NO_CONTENT)
