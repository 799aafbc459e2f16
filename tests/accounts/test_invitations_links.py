"""Invitation links keep their token out of the database and out of every request line.

The table keeps the token's SHA-256; the e-mail's link carries the token after "#",
which browsers never send; the page's static script posts it, and without JavaScript
the person pastes the link into the same form. The accept flow itself (new user,
signed-in user, expired, revoked, used) is in test_services.py.
"""

from __future__ import annotations

import hashlib
import re
from smtplib import SMTPException
from urllib.parse import urlsplit

import pytest
from django.contrib.staticfiles import finders
from django.core import mail
from django.test import Client, TestCase

from accounts import services
from accounts.models import Invitation, InvitationStatus, Membership
from accounts.tenancy import tenant_scope, unscoped
from tests.accounts.test_services import INVITATION_LINK, SIGN_UP, invite_by_mail, open_invitation
from tests.factories import World

pytestmark = pytest.mark.django_db

ACCEPT = "/invitations/accept/"


def link_of_last_mail() -> str:
    match = INVITATION_LINK.search(mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return match[0]


def test_the_table_keeps_only_the_hash_and_the_link_only_a_fragment(world: World) -> None:
    invitation, token = invite_by_mail(world)
    link = urlsplit(link_of_last_mail())
    assert (link.path, link.query, link.fragment) == (ACCEPT, "", token)
    assert token.startswith("inv_") and len(token) > 40
    with unscoped():
        row = Invitation.objects.filter(pk=invitation.pk).values().get()
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in repr(row)


def test_the_page_posts_the_fragment_with_a_static_script_and_no_inline_one(db: None) -> None:
    page = Client().get(ACCEPT)
    assert page.status_code == 200
    html = page.content.decode()
    form = re.search(r'<form method="post" action="/invitations/accept/"[^>]*>', html)
    assert form and 'id="invitation-token-form"' in form[0] and " hidden" not in form[0]
    assert 'name="token"' in html
    scripts = re.findall(r"<script([^>]*)>", html)
    assert all("src=" in attributes for attributes in scripts)  # the CSP allows no inline one
    assert ' src="/static/js/invitation_accept.js"' in scripts
    assert finders.find("js/invitation_accept.js")


@pytest.mark.parametrize(
    "pasted",
    [
        "{link}",  # the whole line of the e-mail
        "  {link}\n",
        "{token}",  # just the part after "#"
        "http://testserver/invitations/{token}/",  # a link of an e-mail sent before
    ],
)
def test_without_javascript_the_pasted_link_opens_the_invitation(world: World, pasted: str) -> None:
    _, token = invite_by_mail(world)
    c = Client()
    response = open_invitation(c, pasted.format(link=link_of_last_mail(), token=token))
    assert response.status_code == 302
    page = c.get(ACCEPT)
    assert b"Create your account for new@acme.test" in page.content
    assert token.encode() not in page.content  # the token went to the session as its hash
    # The token form stays on the page, hidden: a newer link opened in this browser
    # is posted the same way and replaces the invitation shown.
    assert re.search(rb'id="invitation-token-form" hidden', page.content)


def test_pasting_something_else_says_what_to_paste(db: None) -> None:
    response = Client().post(ACCEPT, {"token": "   "})
    assert response.status_code == 400
    assert b"Paste the whole link from your invitation e-mail." in response.content


def test_a_link_of_an_email_sent_before_the_fragment_still_opens(world: World) -> None:
    # What accounts 0005 left of a pending invitation whose e-mail had the old link.
    invitation, token = invite_by_mail(world)
    c = Client()
    response = c.get(f"/invitations/{token}/")
    assert (response.status_code, response["Location"]) == (302, ACCEPT)
    assert c.post(ACCEPT, SIGN_UP).status_code == 302
    with tenant_scope(world.tenant):
        invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.ACCEPTED
    assert Client().get("/invitations/not-a-token/").status_code == 404


def test_opening_a_link_accepts_nothing(world: World) -> None:
    # Mail scanners follow links: only the person's own post accepts.
    invitation, token = invite_by_mail(world)
    open_invitation(Client(), token)
    Client().get(f"/invitations/{token}/")
    with tenant_scope(world.tenant):
        invitation.refresh_from_db()
        assert invitation.status == InvitationStatus.PENDING
        assert not Membership.objects.filter(user__email="new@acme.test").exists()


def test_a_resend_retires_the_link_sent_before(world: World) -> None:
    invitation, first = invite_by_mail(world)
    opened_with_first = Client()
    open_invitation(opened_with_first, first)
    with tenant_scope(world.tenant), TestCase.captureOnCommitCallbacks(execute=True):
        services.invitations.invitation_resend(actor=world.admin, invitation=invitation)
    second = INVITATION_LINK.search(mail.outbox[-1].body)["token"]  # type: ignore[index]
    assert second != first

    stale = open_invitation(Client(), first)
    assert stale.status_code == 404
    assert b"If you have a newer invitation e-mail, use its link" in stale.content
    assert opened_with_first.get(ACCEPT).status_code == 404
    c = Client()
    assert open_invitation(c, second).status_code == 302
    assert c.post(ACCEPT, SIGN_UP).status_code == 302


def test_a_mail_server_refusal_keeps_the_link_sent_before(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    invitation, token = invite_by_mail(world)

    def refuse(*args: object, **kwargs: object) -> None:
        raise SMTPException("451 try later")

    monkeypatch.setattr(services.invitations, "send_mail", refuse)
    with tenant_scope(world.tenant), pytest.raises(SMTPException):
        services.invitations.invitation_send_email(invitation_id=invitation.pk)
    assert open_invitation(Client(), token).status_code == 302
