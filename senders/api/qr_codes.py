"""REST API: QR codes and message links of a number.

- ``phone-numbers/<id>/qr-codes/``: GET the number's codes (newest first, paged); POST
  ``{"prefilled_message"}`` makes one at Meta (201).
- ``.../qr-codes/<id>/``: GET one; PATCH ``{"prefilled_message"}`` changes its message;
  DELETE deletes it at Meta and here (204).
- ``.../qr-codes/<id>/image/?type=png|svg``: the code's image, drawn here (``download=1``
  for an attachment).
- ``.../qr-codes/sync/``: POST reads the number's codes from Meta.

Every member reads; owners and admins write. A message over 140 characters or empty
answers 400 with ``details.fields.prefilled_message``, as the page says it.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.mixins import ListModelMixin
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.idempotency import idempotent
from accounts.permissions import IsManager
from senders import selectors
from senders.api.names import json_object
from senders.models import QrCode
from senders.services import qr_codes
from waba_portal.api import TenantAPIView
from waba_portal.api_pagination import TenantListAPIView
from waba_portal.errors import Invalid


class QrCodeSerializer(serializers.ModelSerializer[QrCode]):
    phone_number = serializers.IntegerField(
        source="phone_number_id", read_only=True, help_text="Our id of the number."
    )
    code = serializers.CharField(read_only=True, help_text="Meta's id of the code.")
    image_png_url = serializers.SerializerMethodField()
    image_svg_url = serializers.SerializerMethodField()

    def _image(self, qr: QrCode) -> str:
        kwargs = {
            "tenant_slug": self.context["tenant_slug"],
            "phone_pk": qr.phone_number_id,
            "qr_pk": qr.pk,
        }
        return reverse("api-phone-number-qr-code-image", kwargs=kwargs)

    def get_image_png_url(self, qr: QrCode) -> str:
        return f"{self._image(qr)}?type=png"

    def get_image_svg_url(self, qr: QrCode) -> str:
        return f"{self._image(qr)}?type=svg"

    class Meta:
        model = QrCode
        fields = [
            "id",
            "phone_number",
            "code",
            "prefilled_message",
            "deep_link_url",
            "image_png_url",
            "image_svg_url",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class QrCodeWriteSerializer(serializers.Serializer[Any]):
    prefilled_message = serializers.CharField(
        help_text="The message the chat opens with, 1 to 140 characters."
    )


class QrCodeSyncSerializer(serializers.Serializer[Any]):
    added = serializers.IntegerField()
    updated = serializers.IntegerField()
    removed = serializers.IntegerField()
    qr_codes = QrCodeSerializer(many=True)


def qr_payload(qr: QrCode, tenant_slug: str) -> dict[str, Any]:
    return dict(QrCodeSerializer(qr, context={"tenant_slug": tenant_slug}).data)


class QrCodeList(ListModelMixin, TenantListAPIView):
    """GET: the number's codes, newest first. POST: make one at Meta (201)."""

    permission_classes = [IsAuthenticated, IsManager]
    serializer_class = QrCodeSerializer
    queryset = QrCode.objects.none()  # the model, for the schema; see get_queryset

    def get_queryset(self) -> Any:
        phone = selectors.phone_access(phone_pk=self.kwargs["phone_pk"])
        return selectors.qr_codes_of(phone=phone)

    def get(self, request: Request, phone_pk: int) -> Response:
        return self.list(request)

    @extend_schema(request=QrCodeWriteSerializer, responses={201: QrCodeSerializer})
    @idempotent
    def post(self, request: Request, phone_pk: int) -> Response:
        phone = selectors.phone_access(phone_pk=phone_pk)
        data = json_object(request)
        qr = qr_codes.qr_code_create(
            actor=self.membership, phone=phone, prefilled_message=data.get("prefilled_message")
        )
        return Response(
            qr_payload(qr, self.context()["tenant_slug"]), status=status.HTTP_201_CREATED
        )


class QrCodeDetail(TenantAPIView):
    permission_classes = [IsAuthenticated, IsManager]

    @extend_schema(responses=QrCodeSerializer)
    def get(self, request: Request, phone_pk: int, qr_pk: int) -> Response:
        phone = selectors.phone_access(phone_pk=phone_pk)
        qr = selectors.qr_code_access(phone=phone, qr_pk=qr_pk)
        return Response(qr_payload(qr, self.context()["tenant_slug"]))

    @extend_schema(request=QrCodeWriteSerializer, responses=QrCodeSerializer)
    def patch(self, request: Request, phone_pk: int, qr_pk: int) -> Response:
        phone = selectors.phone_access(phone_pk=phone_pk)
        qr = selectors.qr_code_access(phone=phone, qr_pk=qr_pk)
        data = json_object(request)
        qr = qr_codes.qr_code_update(
            actor=self.membership, qr=qr, prefilled_message=data.get("prefilled_message")
        )
        return Response(qr_payload(qr, self.context()["tenant_slug"]))

    @extend_schema(responses={204: None})
    def delete(self, request: Request, phone_pk: int, qr_pk: int) -> Response:
        phone = selectors.phone_access(phone_pk=phone_pk)
        qr = selectors.qr_code_access(phone=phone, qr_pk=qr_pk)
        qr_codes.qr_code_delete(actor=self.membership, qr=qr)
        return Response(status=status.HTTP_204_NO_CONTENT)


class QrCodeImage(TenantAPIView):
    """The code's image, drawn from its link: PNG unless ``type=svg`` (the parameter is not
    ``format``, which DRF keeps for choosing its renderers)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("type", str, enum=["png", "svg"], description="Default png."),
            OpenApiParameter("download", str, description="Any value: as an attachment."),
        ],
        responses={
            (200, "image/png"): OpenApiResponse(OpenApiTypes.BINARY, description="PNG."),
            (200, "image/svg+xml"): OpenApiResponse(OpenApiTypes.STR, description="SVG."),
        },
    )
    def get(self, request: Request, phone_pk: int, qr_pk: int) -> HttpResponse:
        phone = selectors.phone_access(phone_pk=phone_pk)
        qr = selectors.qr_code_access(phone=phone, qr_pk=qr_pk)
        image_format = str(request.query_params.get("type") or "png").lower()
        if image_format not in qr_codes.IMAGE_FORMATS:
            raise Invalid(_("Choose the image format SVG or PNG."), field="type")
        response = HttpResponse(
            qr_codes.qr_image(qr, image_format=image_format),
            content_type=qr_codes.IMAGE_FORMATS[image_format],
        )
        if request.query_params.get("download"):
            name = qr_codes.qr_image_filename(qr, image_format=image_format)
            response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


class QrCodeSync(TenantAPIView):
    permission_classes = [IsAuthenticated, IsManager]

    @extend_schema(request=None, responses=QrCodeSyncSerializer)
    def post(self, request: Request, phone_pk: int) -> Response:
        phone = selectors.phone_access(phone_pk=phone_pk)
        result = qr_codes.qr_codes_sync(actor=self.membership, phone=phone)
        slug = self.context()["tenant_slug"]
        return Response(
            {
                "added": result.added,
                "updated": result.updated,
                "removed": result.removed,
                "qr_codes": [qr_payload(qr, slug) for qr in selectors.qr_codes_of(phone=phone)],
            }
        )
