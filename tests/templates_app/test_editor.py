"""The template editor: roles and tenants, field errors at their fields, the live preview,
buttons added and removed in place, the header sample upload, submit and edit."""

from __future__ import annotations

import html as html_module
import re
from typing import Any

import pytest
from django.test import Client

from accounts.models import Membership
from accounts.tenancy import tenant_scope
from templates_app import preview
from templates_app.models import Submission, Template
from tests.factories import WhatsAppAccountFactory, World
from tests.fixtures_senders import Connected

pytestmark = pytest.mark.django_db

CREATE = "/t/acme/templates/create/"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x00" * 64


def login(m: Membership) -> Client:
    c = Client()
    c.force_login(m.user)
    return c


def edit_url(template: Template) -> str:
    return f"/t/acme/templates/{template.pk}/edit/"


def form(connected: Connected, **fields: Any) -> dict[str, Any]:
    """A valid Utility template as the editor posts it."""
    data: dict[str, Any] = {
        "waba": str(connected.waba.pk),
        "name": "order_update",
        "language": "en_US",
        "category": "UTILITY",
        "parameter_format": "POSITIONAL",
        "header_format": "",
        "body_text": "Hi {{1}}, your order {{2}} is on its way to you today.",
        "example-body-1": "Ann",
        "example-body-2": "A-1001",
        "buttons-count": "0",
    }
    data.update(fields)
    return data


def saved_template(connected: Connected, **fields: Any) -> Template:
    values: dict[str, Any] = {
        "tenant": connected.tenant,
        "waba": connected.waba,
        "name": "order_update",
        "language": "en_US",
        "category": "UTILITY",
        "status": "APPROVED",
        "meta_template_id": "910000000000001",
        "ever_approved": True,
        "components": [
            {
                "type": "HEADER",
                "format": "TEXT",
                "text": "Order {{1}}",
                "example": {"header_text": ["A-1"]},
            },
            {
                "type": "BODY",
                "text": "Hi {{1}}, your order {{2}} is on its way to you today.",
                "example": {"body_text": [["Ann", "A-1001"]]},
            },
            {"type": "FOOTER", "text": "Thank you"},
            {
                "type": "BUTTONS",
                "buttons": [
                    {
                        "type": "URL",
                        "text": "Track",
                        "url": "https://example.com/t/{{1}}",
                        "example": ["A-1001"],
                    }
                ],
            },
        ],
    }
    values.update(fields)
    with tenant_scope(connected.tenant):
        return Template.objects.create(**values)


# --- Roles and tenants ------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_owners_and_admins_open_the_editor(
    world: World, connected_waba: Connected, role: str
) -> None:
    response = login(world.by_role(role)).get(CREATE)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="template-editor"' in html and 'id="wa-preview"' in html
    assert f'<option value="{connected_waba.waba.pk}" selected>' in html
    template = saved_template(connected_waba)
    assert login(world.by_role(role)).get(edit_url(template)).status_code == 200


def test_agents_are_refused(world: World, connected_waba: Connected) -> None:
    agent = login(world.agent)
    template = saved_template(connected_waba)
    assert agent.get(CREATE).status_code == 403
    assert agent.post(CREATE, form(connected_waba)).status_code == 403
    assert agent.get(edit_url(template)).status_code == 403
    assert agent.post(edit_url(template), {"intent": "preview"}).status_code == 403
    with tenant_scope(world.tenant):
        assert not Template.objects.exclude(pk=template.pk).exists()


def test_another_tenants_template_is_not_found(world: World, connected_waba: Connected) -> None:
    other_waba = WhatsAppAccountFactory(tenant=world.other_tenant)
    with tenant_scope(world.other_tenant):
        theirs = Template.objects.create(
            tenant=world.other_tenant,
            waba=other_waba,
            name="theirs",
            language="en_US",
            category="UTILITY",
            status="APPROVED",
            components=[{"type": "BODY", "text": "Hello there"}],
        )
    owner = login(world.owner)
    assert owner.get(edit_url(theirs)).status_code == 404
    assert owner.post(edit_url(theirs), {"intent": "submit"}).status_code == 404
    # nor can their template be copied as a new language of it
    page = owner.get(f"{CREATE}?from={theirs.pk}").content.decode()
    assert "theirs" not in page
    # and Globex's owner does not reach Acme's editor at all
    assert login(world.other_owner).get(CREATE).status_code == 404
    # a WABA of another tenant cannot be chosen
    response = owner.post(CREATE, form(connected_waba, waba=str(other_waba.pk)))
    assert response.status_code == 400
    assert "Choose the WhatsApp Business Account" in response.content.decode()


# --- Field errors ---------------------------------------------------------------------------


def errors_of(html: str, field: str) -> str:
    """The messages shown at ``field`` (the editor's ``<field>-errors`` box)."""
    match = re.search(
        rf'id="{re.escape(field)}-errors"[^>]*>((?:<div>.*?</div>)*)</div>', html, re.S
    )
    assert match, f"no errors shown at {field}"
    return html_module.unescape(re.sub(r"<[^>]+>", " ", match.group(1)))


def test_field_errors_are_shown_at_their_fields(world: World, connected_waba: Connected) -> None:
    data = form(
        connected_waba,
        name="Order Update",
        language="",
        header_format="TEXT",
        header_text="x" * 61,
        body_text="{{1}} is your order number",
        **{"example-body-1": ""},
        **{
            "buttons-count": "2",
            "buttons-0-kind": "URL",
            "buttons-0-text": "Track",
            "buttons-0-url": "ftp://example.com/{{1}}",
            "buttons-1-kind": "PHONE_NUMBER",
            "buttons-1-text": "Call",
            "buttons-1-phone": "12",
        },
    )
    response = login(world.owner).post(CREATE, data)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="editor-errors"' in html
    assert "try “order_update”" in errors_of(html, "name")
    assert "Choose the template's language" in errors_of(html, "language")
    assert "61 characters long" in errors_of(html, "header_text")
    assert "may not start with a variable" in errors_of(html, "body_text")
    assert "example for {{1}} is empty" in errors_of(html, "body_examples")
    assert "https://" in errors_of(html, "buttons-0-url")
    assert "example of the end of the address" in errors_of(html, "buttons-0-example")
    assert "not a valid phone number" in errors_of(html, "buttons-1-phone")
    # each field with a problem says so to assistive technology
    assert re.search(r'id="id_name" [^>]*aria-invalid="true"', html)
    assert re.search(r'name="buttons-1-phone" id="buttons-1-phone"[^>]*aria-invalid="true"', html)
    # what was typed is kept
    assert 'value="Order Update"' in html and "ftp://example.com/{{1}}" in html
    with tenant_scope(world.tenant):
        assert not Template.objects.exists()


def test_authentication_errors_are_shown_at_the_password_fields(
    world: World, connected_waba: Connected
) -> None:
    data = form(
        connected_waba,
        name="login_code",
        category="AUTHENTICATION",
        auth_expiry="120",
        auth_otp_type="ONE_TAP",
        auth_package="example",
        auth_signature="short",
    )
    html = login(world.owner).post(CREATE, data).content.decode()
    assert "from 1 to 90" in errors_of(html, "auth_expiry")
    package = errors_of(html, "auth_package")
    assert "not an Android package name" in package and "11 characters" in package


def test_a_refusal_by_the_service_is_shown_at_its_field(
    world: World, connected_waba: Connected
) -> None:
    saved_template(connected_waba)
    html = login(world.owner).post(CREATE, form(connected_waba)).content.decode()
    assert "already exists in en_US" in errors_of(html, "name")
    assert "This name exists in: en_US." in html


# --- Preview, buttons, sample ------------------------------------------------------------


def test_the_preview_draws_the_bubble_with_the_examples(
    world: World, connected_waba: Connected
) -> None:
    data = form(
        connected_waba,
        intent="preview",
        examples_signature="POSITIONAL:1,2",
        header_format="TEXT",
        header_text="Order {{1}}",
        header_example="A-9",
        footer_text="Reply STOP to opt out",
        **{
            "buttons-count": "2",
            "buttons-0-kind": "QUICK_REPLY",
            "buttons-0-text": "Stop",
            "buttons-1-kind": "URL",
            "buttons-1-text": "Track",
            "buttons-1-url": "https://example.com/t/{{1}}",
            "buttons-1-example": "A-1001",
        },
    )
    response = login(world.owner).post(CREATE, data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html  # a fragment
    assert 'id="preview-header">Order A-9</p>' in html
    assert "Hi Ann, your order A-1001 is on its way to you today." in html
    assert "Reply STOP to opt out" in html
    assert "https://example.com/t/A-1001" in html
    assert 'id="preview-ready"' in html
    # the variables did not change: the example fields are not re-drawn
    assert 'id="editor-examples"' not in html

    data.update(body_text="Hi {{1}}, *your* order {{2}} ships on {{3}} from us.")
    html = login(world.owner).post(CREATE, data, HTTP_HX_REQUEST="true").content.decode()
    assert '<div id="editor-examples" hx-swap-oob="true">' in html
    assert 'name="example-body-3"' in html and 'value="A-1001"' in html
    assert "<strong>your</strong>" in html
    assert '<mark class="wa-var">{{3}}</mark>' in html
    assert "The example for {{3}} is empty" in html  # the live check


def test_a_marketing_text_as_utility_is_warned_in_the_preview(
    world: World, connected_waba: Connected
) -> None:
    data = form(
        connected_waba,
        intent="preview",
        body_text="Hi {{1}}, get 20% off with our summer sale, order {{2}} today.",
    )
    html = login(world.owner).post(CREATE, data).content.decode()
    assert 'id="preview-warnings"' in html and "reads like Marketing" in html


def test_buttons_are_added_and_removed_in_place(world: World, connected_waba: Connected) -> None:
    owner = login(world.owner)
    data = form(connected_waba, intent="add_button", new_button_kind="PHONE_NUMBER")
    html = owner.post(CREATE, data).content.decode()
    assert 'id="editor-buttons"' in html and 'name="buttons-count" value="1"' in html
    assert '<option value="PHONE_NUMBER" selected>' in html
    assert 'hx-swap-oob="innerHTML"' in html  # the preview follows
    data = form(
        connected_waba,
        intent="remove_button",
        button_index="0",
        **{
            "buttons-count": "2",
            "buttons-0-kind": "QUICK_REPLY",
            "buttons-0-text": "First",
            "buttons-1-kind": "QUICK_REPLY",
            "buttons-1-text": "Second",
        },
    )
    html = owner.post(CREATE, data).content.decode()
    assert 'name="buttons-count" value="1"' in html
    assert 'value="Second"' in html and 'value="First"' not in html
    # at ten buttons there is no "Add button" any more
    many = {f"buttons-{i}-text": f"B{i}" for i in range(10)}
    data = form(connected_waba, intent="add_button", **{"buttons-count": "10", **many})
    html = owner.post(CREATE, data).content.decode()
    assert 'name="buttons-count" value="10"' in html and 'id="add-button"' not in html


def test_a_header_sample_is_uploaded_to_meta_for_its_handle(
    world: World, connected_waba: Connected, mock_meta: Any
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    owner = login(world.owner)
    data = form(connected_waba, intent="upload", header_format="IMAGE")
    data["header_sample_file"] = SimpleUploadedFile("shoe.jpg", JPEG, "image/jpeg")
    html = owner.post(CREATE, data).content.decode()
    handle = re.search(r'name="header_handle" value="([^"]+)"', html)
    assert handle and handle.group(1)
    assert "Uploaded: shoe.jpg" in html
    uploads = [r for r in mock_meta.requests() if "uploads" in str(r.get("path"))]
    assert uploads, "the sample went through the resumable upload"

    data["header_sample_file"] = SimpleUploadedFile("notes.txt", b"plain text", "text/plain")
    html = owner.post(CREATE, data).content.decode()
    assert "not a JPEG or PNG image" in errors_of(html, "header_sample")

    data = form(connected_waba, intent="upload", header_format="DOCUMENT")
    html = owner.post(CREATE, data).content.decode()
    assert "Choose a file to upload" in errors_of(html, "header_sample")


def test_a_sample_over_metas_size_is_refused(
    world: World, connected_waba: Connected, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    monkeypatch.setitem(preview.SAMPLE_LIMITS, "IMAGE", 16)
    data = form(connected_waba, intent="upload", header_format="IMAGE")
    data["header_sample_file"] = SimpleUploadedFile("big.jpg", JPEG, "image/jpeg")
    html = login(world.owner).post(CREATE, data).content.decode()
    assert "larger than" in errors_of(html, "header_sample")


# --- Submit and edit --------------------------------------------------------------------


def test_a_valid_template_is_submitted_through_the_service(
    world: World, connected_waba: Connected, django_capture_on_commit_callbacks: Any
) -> None:
    owner = login(world.owner)
    data = form(
        connected_waba,
        parameter_format="NAMED",
        body_text="Hi {{first_name}}, your order {{order_id}} is on its way today.",
        **{"example-body-first_name": "Ann", "example-body-order_id": "A-1"},
        **{
            "buttons-count": "1",
            "buttons-0-kind": "QUICK_REPLY",
            "buttons-0-text": "Thanks",
        },
        intent="submit_more",
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = owner.post(CREATE, data)
    with tenant_scope(world.tenant):
        created = Template.objects.get(name="order_update")
    assert response.status_code == 302
    assert response["Location"] == f"{CREATE}?from={created.pk}"
    assert created.parameter_format == "NAMED"
    assert created.components[0]["example"] == {
        "body_text_named_params": [
            {"param_name": "first_name", "example": "Ann"},
            {"param_name": "order_id", "example": "A-1"},
        ]
    }
    assert created.meta_template_id  # the task ran: Meta has it
    # "add another language": the same name and content, the language to choose
    html = owner.get(response["Location"]).content.decode()
    assert 'value="order_update"' in html and "Hi {{first_name}}" in html
    assert '<option value="en_US" selected>' not in html
    assert "This name exists in: en_US." in html


def test_an_edit_is_sent_through_the_service(world: World, connected_waba: Connected) -> None:
    template = saved_template(connected_waba)
    owner = login(world.owner)
    html = owner.get(edit_url(template)).content.decode()
    assert "Hi {{1}}, your order {{2}}" in html and 'value="https://example.com/t/{{1}}"' in html
    assert 'value="Order {{1}}"' in html and 'value="A-1"' in html
    assert "Meta keeps the category of an approved template." in html

    data = form(
        connected_waba,
        body_text="Hello {{1}}, your order {{2}} left our warehouse today.",
        name="renamed",  # ignored: Meta keeps the name
    )
    response = owner.post(edit_url(template), data)
    assert response.status_code == 302
    assert response["Location"] == f"/t/acme/templates/{template.pk}/"
    with tenant_scope(world.tenant):
        template.refresh_from_db()
    assert template.name == "order_update"
    assert template.submission == Submission.EDITING
    assert template.pending_change["components"][0]["text"].startswith("Hello {{1}}")


def test_an_edit_meta_would_refuse_is_shown_at_its_fields(
    world: World, connected_waba: Connected
) -> None:
    template = saved_template(connected_waba)
    response = login(world.owner).post(
        edit_url(template), form(connected_waba, body_text="Hi {{1}} {{2}} today and always.")
    )
    assert response.status_code == 400
    assert "stand next to each other" in errors_of(response.content.decode(), "body_text")


def test_a_template_meta_does_not_edit_says_why(world: World, connected_waba: Connected) -> None:
    template = saved_template(connected_waba, status="PENDING")
    html = login(world.owner).get(edit_url(template)).content.decode()
    assert 'id="edit-blocked"' in html
    assert re.search(r'id="submit-template"[^>]*disabled', html)


def test_a_template_with_parts_the_editor_lacks_is_not_edited_here(
    world: World, connected_waba: Connected
) -> None:
    carousel = saved_template(
        connected_waba,
        name="cards",
        category="MARKETING",
        components=[
            {"type": "BODY", "text": "Our picks for you this week, take a look."},
            {"type": "CAROUSEL", "cards": []},
        ],
    )
    html = login(world.owner).get(edit_url(carousel)).content.decode()
    assert "parts the editor cannot show (carousel)" in html
    assert re.search(r'id="submit-template"[^>]*disabled', html)


def test_a_gif_header_keeps_its_kind_in_an_edit(world: World, connected_waba: Connected) -> None:
    gif = saved_template(
        connected_waba,
        name="moving",
        category="MARKETING",
        components=[
            {"type": "HEADER", "format": "GIF", "example": {"header_handle": ["4::h"]}},
            {"type": "BODY", "text": "Our new collection is here, come and see it."},
        ],
    )
    html = login(world.owner).get(edit_url(gif)).content.decode()
    assert re.search(r'id="header-format-GIF" value="GIF" checked', html)
    assert 'name="header_handle" value="4::h"' in html
    assert 'id="edit-blocked"' not in html
