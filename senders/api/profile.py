"""REST API of a number's business profile and its logo.

``/api/v1/t/<slug>/phone-numbers/<id>/business-profile/``:

- ``GET``: the profile as the tenant edits it, the edit's ``state`` (``saved``,
  ``sent``, ``live``, ``failed`` with ``problem`` and ``meta_message``) and ``at_meta``,
  what Meta reported last (read from Meta first when it never was);
- ``PUT`` (every field; one left out is emptied) or ``PATCH`` (the fields given): the
  same checks and error body as the page (``details.fields``), then 202 while the
  edit goes to Meta (200 when nothing changed);
- ``.../picture/``: ``GET`` the logo (JPEG; 204 when there is none), ``POST`` a new one
  as multipart ``picture`` with ``crop`` = ``center`` | ``start`` | ``end`` | ``none``;
- ``.../retry/`` (``POST``): send a failed edit again; ``.../refresh/`` (``POST``): read
  the profile from Meta now.

Writes are for owners and admins; every member reads.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponseBase
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.permissions import IsManager
from senders import selectors
from senders.api.accounts import ProblemSerializer, problem_payload
from senders.models import PhoneNumber, ProfileSyncState
from senders.services import business_profile as profiles
from senders.views.profile import picture_response
from waba_portal.api import TenantAPIView
from waba_portal.errors import Invalid


def _when(value: Any) -> Any:
    return value or None  # a datetime: the renderer writes it in ISO 8601 with its offset


class ProfileValuesSerializer(serializers.Serializer[Any]):
    """The profile's editable fields (PUT sends all of them, PATCH any of them)."""

    about = serializers.CharField(required=False, allow_blank=True, max_length=139)
    address = serializers.CharField(required=False, allow_blank=True, max_length=256)
    description = serializers.CharField(required=False, allow_blank=True, max_length=512)
    email = serializers.CharField(required=False, allow_blank=True, max_length=128)
    websites = serializers.ListField(
        child=serializers.CharField(), required=False, max_length=profiles.WEBSITES_MAX
    )
    vertical = serializers.ChoiceField(
        choices=[*profiles.VERTICALS, ""], required=False, allow_blank=True
    )


class AtMetaSerializer(ProfileValuesSerializer):
    vertical = serializers.CharField(help_text="Meta's value, read-only ones included.")  # type: ignore[assignment]  # any of Meta's values
    profile_picture_url = serializers.CharField(help_text="Meta's link to the logo.")
    fetched_at = serializers.DateTimeField(allow_null=True)


class ProfileSerializer(ProfileValuesSerializer):
    phone_number = serializers.IntegerField(help_text="Our id of the number.")
    picture = serializers.CharField(
        allow_null=True, help_text="Where to GET the logo (JPEG); null without one."
    )
    state = serializers.ChoiceField(
        choices=ProfileSyncState.choices,
        allow_null=True,
        help_text="How far the last edit got; null when it was never edited here.",
    )
    problem = ProblemSerializer(allow_null=True)
    meta_message = serializers.CharField(help_text="Meta's words when the edit failed.")
    attempts = serializers.IntegerField()
    edited_at = serializers.DateTimeField(allow_null=True)
    sent_at = serializers.DateTimeField(allow_null=True)
    live_at = serializers.DateTimeField(allow_null=True)
    at_meta = AtMetaSerializer(allow_null=True, help_text="What Meta reported last.")
    read_problem = ProblemSerializer(
        allow_null=True, help_text="Why the profile could not be read from Meta just now."
    )


class ProfileSavedSerializer(ProfileSerializer):
    changed = serializers.BooleanField(help_text="False when nothing differed (200, not 202).")


class UploadedSerializer(serializers.Serializer[Any]):
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    cropped = serializers.BooleanField()
    bytes = serializers.IntegerField()


class PictureAnswerSerializer(ProfileSerializer):
    uploaded = UploadedSerializer()


class PictureUploadSerializer(serializers.Serializer[Any]):
    picture = serializers.FileField(help_text="A JPEG or PNG logo.")
    crop = serializers.ChoiceField(choices=profiles.CROPS, required=False, default="center")


class ProfileAPIView(TenantAPIView):
    permission_classes = [IsAuthenticated, IsManager]

    def payload(self, phone: PhoneNumber, read_problem: str = "") -> dict[str, Any]:
        state = profiles.profile_state(phone=phone, read_problem=read_problem)
        slug = self.context()["tenant_slug"]
        sync, meta = state.sync, state.meta
        picture = None
        if state.has_picture:
            picture = self.request.build_absolute_uri(
                reverse(
                    "api-phone-number-profile-picture",
                    kwargs={"tenant_slug": slug, "phone_pk": phone.pk},
                )
            )
        return {
            "phone_number": phone.pk,
            **state.values.as_dict(),
            "picture": picture,
            "state": sync.state if sync else None,
            "problem": problem_payload(sync.problem, slug)
            if sync and sync.state == "failed"
            else None,
            "meta_message": sync.error_message if sync else "",
            "attempts": sync.attempts if sync else 0,
            "edited_at": _when(sync.edited_at if sync else None),
            "sent_at": _when(sync.sent_at if sync else None),
            "live_at": _when(sync.live_at if sync else None),
            "at_meta": {
                **profiles.values_of(meta).as_dict(),
                "vertical": meta.vertical,
                "profile_picture_url": meta.profile_picture_url,
                "fetched_at": _when(meta.fetched_at),
            }
            if meta is not None
            else None,
            "read_problem": problem_payload(read_problem, slug),
        }

    def body(self, request: Request) -> dict[str, Any]:
        if not isinstance(request.data, dict):
            raise Invalid(_("Send the profile's fields as a JSON object."))
        return dict(request.data)


class PhoneNumberProfile(ProfileAPIView):
    @extend_schema(responses=ProfileSerializer)
    def get(self, request: Request, phone_pk: int) -> Response:
        phone = selectors.phone_access(phone_pk=phone_pk)
        problem = profiles.profile_read_if_missing(phone=phone)
        return Response(self.payload(phone, problem))

    def _save(self, request: Request, phone_pk: int, *, partial: bool) -> Response:
        phone = selectors.phone_access(phone_pk=phone_pk)
        _row, changed = profiles.profile_save(
            actor=self.membership, phone=phone, data=self.body(request), partial=partial
        )
        answer = status.HTTP_202_ACCEPTED if changed else status.HTTP_200_OK
        return Response({**self.payload(phone), "changed": changed}, status=answer)

    @extend_schema(
        request=ProfileValuesSerializer,
        responses={200: ProfileSavedSerializer, 202: ProfileSavedSerializer},
    )
    def put(self, request: Request, phone_pk: int) -> Response:
        return self._save(request, phone_pk, partial=False)

    @extend_schema(
        request=ProfileValuesSerializer,
        responses={200: ProfileSavedSerializer, 202: ProfileSavedSerializer},
    )
    def patch(self, request: Request, phone_pk: int) -> Response:
        return self._save(request, phone_pk, partial=True)


class PhoneNumberProfilePicture(ProfileAPIView):
    @extend_schema(
        responses={
            (200, "image/jpeg"): OpenApiResponse(OpenApiTypes.BINARY, description="The logo."),
            204: OpenApiResponse(description="The number has no logo."),
        }
    )
    def get(self, request: Request, phone_pk: int) -> HttpResponseBase:
        return picture_response(selectors.phone_access(phone_pk=phone_pk))

    @extend_schema(
        request={"multipart/form-data": PictureUploadSerializer},
        responses={202: PictureAnswerSerializer},
    )
    def post(self, request: Request, phone_pk: int) -> Response:
        phone = selectors.phone_access(phone_pk=phone_pk)
        crop = request.data.get("crop") if hasattr(request.data, "get") else None
        _row, picture = profiles.profile_picture_upload(
            actor=self.membership,
            phone=phone,
            upload=request.FILES.get("picture"),
            crop=str(crop or "center"),
        )
        return Response(
            {
                **self.payload(phone),
                "uploaded": {
                    "width": picture.width,
                    "height": picture.height,
                    "cropped": picture.cropped,
                    "bytes": len(picture.data),
                },
            },
            status=status.HTTP_202_ACCEPTED,
        )


class PhoneNumberProfileRetry(ProfileAPIView):
    @extend_schema(request=None, responses={202: ProfileSerializer})
    def post(self, request: Request, phone_pk: int) -> Response:
        phone = selectors.phone_access(phone_pk=phone_pk)
        profiles.profile_retry(actor=self.membership, phone=phone)
        return Response(self.payload(phone), status=status.HTTP_202_ACCEPTED)


class PhoneNumberProfileRefresh(ProfileAPIView):
    @extend_schema(request=None, responses=ProfileSerializer)
    def post(self, request: Request, phone_pk: int) -> Response:
        phone = selectors.phone_access(phone_pk=phone_pk)
        profiles.profile_refresh(actor=self.membership, phone=phone)
        return Response(self.payload(phone))
