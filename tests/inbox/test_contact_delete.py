"""Deleting a contact from their page: owners and admins only, with their conversations
and messages, audited; an agent is refused and another workspace's contact is not found."""

from __future__ import annotations

import pytest

from accounts.models import AuditEvent
from accounts.tenancy import tenant_scope
from inbox.models import Contact, Conversation, Message
from tests.factories import World
from tests.fixtures_senders import Connected

from .conftest import Customer
from .test_outbound import ERIKA, client_of

pytestmark = pytest.mark.django_db


def test_an_owner_deletes_a_contact_with_their_conversations(
    world: World, channel: Connected, customer: Customer
) -> None:
    customer.says(**{"from": ERIKA}, text="Hallo")
    with tenant_scope(world.tenant):
        contact = Contact.objects.get()
    url = f"/t/acme/inbox/contacts/{contact.pk}/"
    agent = client_of(world.agent)
    assert 'id="contact-delete"' not in agent.get(url).content.decode()
    assert agent.post(url + "delete/").status_code == 403
    assert (
        client_of(world.other_owner)
        .post(f"/t/globex/inbox/contacts/{contact.pk}/delete/")
        .status_code
        == 404
    )
    owner = client_of(world.owner)
    assert 'id="contact-delete"' in owner.get(url).content.decode()
    answer = owner.post(url + "delete/", follow=True)
    assert answer.redirect_chain[-1][0].endswith("/t/acme/inbox/contacts/")
    assert "and their conversations are deleted" in answer.content.decode()
    with tenant_scope(world.tenant):
        assert not Contact.objects.exists() and not Conversation.objects.exists()
        assert not Message.objects.filter(conversation__isnull=False).exists()
        assert AuditEvent.objects.filter(action="contact.deleted").count() == 1
