"""REST API of message templates: list (with the page's filters), read, submit, edit,
delete, sync, and a preview with parameters filled in.

Writes are for owners and admins (``IsManager``); every member reads. Bad input answers
400 with the validator's field problems in ``error.details.fields`` (field paths such
as ``components.body.text``), the same checks the editor runs; Meta's refusals and
Meta's review are read back on the template (``status``, ``problem``). Services are
called without ``try``: ``waba_portal.api.exception_handler`` answers their refusals.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import django_filters
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.mixins import ListModelMixin
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.idempotency import idempotent
from accounts.permissions import IsManager
from senders.api.accounts import ProblemSerializer, problem_payload
from senders.selectors import waba_access
from templates_app import selectors, sending
from templates_app.forms import TemplateFilterForm
from templates_app.models import (
    SyncState,
    Template,
    TemplateCategory,
    TemplateStatus,
    TemplateStatusChange,
    TemplateSync,
)
from templates_app.services import lifecycle
from templates_app.services import sync as template_sync
from templates_app.views import IN_FLIGHT, template_problem
from waba_portal.api import TenantAPIView
from waba_portal.api_pagination import IdFilter, TenantListAPIView
from waba_portal.errors import Invalid


class TemplateProblemSerializer(ProblemSerializer):
    meta_said = serializers.CharField(help_text="Meta's own words about it, if any.")


class ChangeSerializer(serializers.ModelSerializer[TemplateStatusChange]):
    actor = serializers.SerializerMethodField()

    @extend_schema_field(serializers.EmailField(allow_null=True))
    def get_actor(self, change: TemplateStatusChange) -> str | None:
        return change.actor.email if change.actor else None

    class Meta:
        model = TemplateStatusChange
        fields = ["kind", "old_value", "new_value", "reason", "source", "actor", "occurred_at"]


class TemplateSerializer(serializers.ModelSerializer[Template]):
    waba = serializers.IntegerField(source="waba_id", read_only=True)
    status_label = serializers.CharField(read_only=True)
    category_label = serializers.CharField(read_only=True)
    quality_label = serializers.CharField(read_only=True)
    problem = serializers.SerializerMethodField()
    in_flight = serializers.SerializerMethodField()
    updated_by = serializers.SerializerMethodField()

    @extend_schema_field(TemplateProblemSerializer(allow_null=True))
    def get_problem(self, template: Template) -> dict[str, Any] | None:
        key, words = template_problem(template)
        payload = problem_payload(key, self.context["tenant_slug"])
        if payload is not None:
            payload["meta_said"] = words
        return payload

    def get_in_flight(self, template: Template) -> bool:
        return template.submission in IN_FLIGHT

    @extend_schema_field(serializers.EmailField(allow_null=True))
    def get_updated_by(self, template: Template) -> str | None:
        return template.updated_by.email if template.updated_by else None

    class Meta:
        model = Template
        fields = [
            "id",
            "waba",
            "meta_template_id",
            "name",
            "language",
            "category",
            "category_label",
            "previous_category",
            "correct_category",
            "category_change_at",
            "parameter_format",
            "components",
            "message_send_ttl_seconds",
            "status",
            "status_label",
            "rejected_reason",
            "status_detail",
            "quality_score",
            "quality_label",
            "submission",
            "in_flight",
            "problem",
            "updated_at",
            "updated_by",
            "created_at",
            "deleted_at",
        ]


class TemplateDetailSerializer(TemplateSerializer):
    history = serializers.SerializerMethodField()

    @extend_schema_field(ChangeSerializer(many=True))
    def get_history(self, template: Template) -> list[dict[str, Any]]:
        return list(ChangeSerializer(selectors.template_history(template=template), many=True).data)

    class Meta(TemplateSerializer.Meta):
        fields = [*TemplateSerializer.Meta.fields, "history"]


class SubmitSerializer(serializers.Serializer[Any]):
    waba = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    name = serializers.CharField(max_length=512, allow_blank=True, trim_whitespace=True)
    language = serializers.CharField(max_length=16, allow_blank=True)
    category = serializers.CharField(max_length=32, allow_blank=True)
    parameter_format = serializers.CharField(max_length=16, required=False, default="POSITIONAL")
    components = serializers.JSONField()
    message_send_ttl_seconds = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=2592000
    )


class EditSerializer(serializers.Serializer[Any]):
    components = serializers.JSONField()
    category = serializers.CharField(max_length=32, required=False, allow_blank=True)
    message_send_ttl_seconds = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=2592000
    )


class SyncSerializer(serializers.ModelSerializer[TemplateSync]):
    problem = serializers.SerializerMethodField()
    waba = serializers.IntegerField(source="waba_id", read_only=True)

    @extend_schema_field(ProblemSerializer(allow_null=True))
    def get_problem(self, item: TemplateSync) -> dict[str, Any] | None:
        return problem_payload(item.problem, self.context["tenant_slug"])

    class Meta:
        model = TemplateSync
        fields = [
            "id",
            "waba",
            "state",
            "read",
            "created",
            "updated",
            "deleted",
            "samples_skipped",
            "problem",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]


def _components(value: Any) -> list[dict[str, Any]]:
    """The components as given: the validator says what is wrong with them, by field."""
    if not isinstance(value, list):
        raise Invalid(
            _("components must be a list of Meta's component objects."),
            code="template_invalid",
            field="components",
        )
    return value


class SyncRequestSerializer(serializers.Serializer[Any]):
    waba = serializers.IntegerField(
        required=False, help_text="Our id of one account to read; none: every connected one."
    )


class SyncFilter(django_filters.FilterSet):
    waba = IdFilter(field_name="waba_id", help_text="Our id of the account.")
    state = django_filters.ChoiceFilter(choices=SyncState.choices)

    class Meta:
        model = TemplateSync
        fields = ["waba", "state"]


class SlotSerializer(serializers.Serializer[Any]):
    key = serializers.CharField(help_text="Where the value goes: header, body.1, button.0, code.")
    kind = serializers.CharField(help_text="text, image, video, document, location, ...")
    label = serializers.CharField()  # type: ignore[assignment]  # the field, not .label
    required = serializers.BooleanField()  # type: ignore[assignment]  # the field, not .required
    variable = serializers.CharField()
    button_index = serializers.IntegerField(allow_null=True)
    example = serializers.JSONField(allow_null=True, help_text="The template's sample value.")


class RenderedButtonSerializer(serializers.Serializer[Any]):
    kind = serializers.CharField()
    text = serializers.CharField()
    url = serializers.CharField()
    phone_number = serializers.CharField()
    code = serializers.CharField()


class PreviewSerializer(serializers.Serializer[Any]):
    template = serializers.IntegerField(help_text="Our id of the template.")
    header_format = serializers.CharField(allow_null=True)
    header_text = serializers.CharField()
    header_media = serializers.DictField()
    header_location = serializers.DictField()
    body = serializers.CharField()
    footer = serializers.CharField()
    buttons = RenderedButtonSerializer(many=True)
    missing = serializers.ListField(
        child=serializers.CharField(), help_text="Slots without a value: shown as variables."
    )
    slots = SlotSerializer(many=True, help_text="Every value a send of it takes.")


class PreviewRequestSerializer(serializers.Serializer[Any]):
    parameters = serializers.DictField(
        required=False,
        help_text='Values by slot key ({"body.1": "Ann"}), or nested ({"body": ["Ann"]}).',
    )


TEMPLATE_FILTERS = [
    OpenApiParameter("waba", int, description="Our id of an account."),
    OpenApiParameter("phone", int, description="Our id of a number: its account's templates."),
    OpenApiParameter("status", str, enum=TemplateStatus.values, description="Meta's status."),
    OpenApiParameter("category", str, enum=TemplateCategory.values),
    OpenApiParameter("language", str, description="Such as en_US."),
    OpenApiParameter("q", str, description="Part of the name or the text."),
]


class TemplateList(ListModelMixin, TenantListAPIView):
    """GET: the templates, filtered (``waba``, ``phone``, ``status``, ``category``,
    ``language``, ``q``), in pages (``limit``, ``cursor``). POST: submit a new template
    to Meta (201, ``PENDING`` until Meta decides); an ``Idempotency-Key`` makes a retry
    answer the first submission instead of sending a second."""

    permission_classes = [IsAuthenticated, IsManager]
    serializer_class = TemplateSerializer
    queryset = Template.objects.none()  # the model, for the schema; filtered by the form

    @extend_schema(parameters=TEMPLATE_FILTERS)
    def get(self, request: Request) -> Response:
        form = TemplateFilterForm(request.query_params or None)
        if form.is_bound and not form.is_valid():
            fields = {name: [str(m) for m in messages] for name, messages in form.errors.items()}
            raise Invalid(
                _("The filters have invalid values; see details."), details={"fields": fields}
            )
        return self.paginated(selectors.template_list(filters=form.filters()))

    @extend_schema(
        request=SubmitSerializer,
        responses={201: TemplateDetailSerializer},
        examples=[
            OpenApiExample(
                "An order update",
                request_only=True,
                value={
                    "waba": 3,
                    "name": "order_update",
                    "language": "en_US",
                    "category": "UTILITY",
                    "components": [
                        {
                            "type": "BODY",
                            "text": "Hello {{1}}, order {{2}} is on its way.",
                            "example": {"body_text": [["Ann", "A-1001"]]},
                        }
                    ],
                },
            )
        ],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = SubmitSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        waba = waba_access(waba_pk=values["waba"])
        template = lifecycle.template_submit(
            actor=self.membership,
            waba=waba,
            name=values["name"],
            language=values["language"],
            category=values["category"],
            parameter_format=values.get("parameter_format") or "POSITIONAL",
            components=_components(values["components"]),
            message_send_ttl_seconds=values.get("message_send_ttl_seconds"),
        )
        template.refresh_from_db()
        return Response(
            TemplateDetailSerializer(template, context=self.context()).data,
            status=status.HTTP_201_CREATED,
        )


class TemplateDetail(TenantAPIView):
    """GET: one template with its history. PATCH: edit it (Meta reviews it again).
    DELETE: delete this language, or every language with ``?languages=all``."""

    permission_classes = [IsAuthenticated, IsManager]

    @extend_schema(responses=TemplateDetailSerializer)
    def get(self, request: Request, template_pk: int) -> Response:
        template = selectors.template_access(template_pk=template_pk)
        return Response(TemplateDetailSerializer(template, context=self.context()).data)

    @extend_schema(request=EditSerializer, responses=TemplateDetailSerializer)
    def patch(self, request: Request, template_pk: int) -> Response:
        template = selectors.template_access(template_pk=template_pk)
        data = EditSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        template = lifecycle.template_edit(
            actor=self.membership,
            template=template,
            components=_components(values["components"]),
            category=values.get("category") or None,
            message_send_ttl_seconds=values.get("message_send_ttl_seconds"),
        )
        template.refresh_from_db()
        return Response(TemplateDetailSerializer(template, context=self.context()).data)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "languages", str, enum=["all"], description="all: every language of the name."
            )
        ],
        responses={202: TemplateSerializer(many=True)},
    )
    def delete(self, request: Request, template_pk: int) -> Response:
        template = selectors.template_access(template_pk=template_pk)
        everything = request.query_params.get("languages") == "all"
        done = lifecycle.template_delete(
            actor=self.membership, template=template, all_languages=everything
        )
        for t in done:
            t.refresh_from_db()
        return Response(
            TemplateSerializer(done, many=True, context=self.context()).data,
            status=status.HTTP_202_ACCEPTED,
        )


class TemplateSyncView(ListModelMixin, TenantListAPIView):
    """GET: the reads of the accounts' templates, newest first (``waba`` and ``limit=1``:
    the latest of one account). POST: read them now (``waba`` to read one account only);
    202 with the syncs to follow."""

    permission_classes = [IsAuthenticated, IsManager]
    serializer_class = SyncSerializer
    filterset_class = SyncFilter
    queryset = TemplateSync.objects.none()  # the model, for the schema; see get_queryset

    def get_queryset(self) -> Any:
        return TemplateSync.objects.all()

    def get(self, request: Request) -> Response:
        return self.list(request)

    @extend_schema(request=SyncRequestSerializer, responses={202: SyncSerializer(many=True)})
    def post(self, request: Request) -> Response:
        raw = request.data.get("waba") if isinstance(request.data, dict) else None
        waba = None
        if raw not in (None, ""):
            if not str(raw).isdigit() or int(str(raw)) > 2**63 - 1:
                raise Invalid(
                    _("waba must be the id of a WhatsApp Business Account."), field="waba"
                )
            waba = waba_access(waba_pk=int(str(raw)))
        syncs = template_sync.templates_sync_request(actor=self.membership, waba=waba)
        for s in syncs:
            s.refresh_from_db()
        return Response(
            SyncSerializer(syncs, many=True, context=self.context()).data,
            status=status.HTTP_202_ACCEPTED,
        )


class TemplatePreview(TenantAPIView):
    """POST ``{"parameters": {...}}``: the template as the customer would read it, with the
    values filled in (a missing one keeps its variable and is listed in ``missing``),
    and the slots a send takes. Nothing is sent or changed: a read, for every member and
    for keys with the read scope."""

    reads_only = True  # a POST for its JSON body: CredentialScope counts it as a read
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=PreviewRequestSerializer,
        responses=PreviewSerializer,
        examples=[
            OpenApiExample(
                "Two body values",
                request_only=True,
                value={"parameters": {"body.1": "Ann", "body.2": "A-1001"}},
            )
        ],
    )
    def post(self, request: Request, template_pk: int) -> Response:
        template = selectors.template_access(template_pk=template_pk)
        data = request.data if isinstance(request.data, dict) else None
        if data is None:
            raise Invalid(_("Send the request body as a JSON object."), code="malformed_json")
        parameters = data.get("parameters") or {}
        if not isinstance(parameters, dict):
            raise Invalid(
                _("parameters must be an object of values by slot key, such as body.1."),
                field="parameters",
            )
        rendered = sending.template_render(template, parameters)
        return Response(
            {
                "template": template.pk,
                **asdict(rendered),
                "slots": [asdict(slot) for slot in sending.template_slots(template)],
            }
        )
