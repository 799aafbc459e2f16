"""A service's refusal is answered in one place: pages, JSON requests and the API alike."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.http import HttpRequest
from django.test import Client, RequestFactory

from accounts.errors import LastOwnerError
from tests.factories import World
from waba_portal.api import exception_handler
from waba_portal.errors import (
    Conflict,
    Invalid,
    NotAllowed,
    NotFound,
    ServiceError,
    error_body,
    get_or_not_found,
)
from waba_portal.middleware import back_url

pytestmark = pytest.mark.django_db


def _client(membership) -> Client:  # type: ignore[no-untyped-def]
    c = Client()
    c.force_login(membership.user)
    return c


def _role_url(world: World, membership) -> str:  # type: ignore[no-untyped-def]
    return f"/t/{world.tenant.slug}/settings/members/{membership.pk}/role/"


def test_each_family_member_has_its_status_and_code() -> None:
    assert [(e.status, e.code) for e in (Invalid, NotAllowed, NotFound, Conflict)] == [
        (400, "invalid"),
        (403, "permission_denied"),
        (404, "not_found"),
        (409, "conflict"),
    ]
    exc = Invalid("Enter a name.", field="name")
    assert exc.body() == error_body(
        "invalid", "Enter a name.", {"fields": {"name": ["Enter a name."]}}
    )
    assert Conflict("Busy.", code="busy").body()["error"]["code"] == "busy"


def test_a_refusal_on_a_page_is_a_message_on_the_page_the_view_names(world: World) -> None:
    c = _client(world.owner)
    response = c.post(_role_url(world, world.owner), {"role": "agent"})
    assert response.status_code == 302
    assert response["Location"] == f"/t/{world.tenant.slug}/settings/members/"
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert len(texts) == 1 and "owner" in texts[0]
    world.owner.refresh_from_db()
    assert world.owner.role == "owner"  # nothing was changed


def test_a_refusal_asked_for_as_json_answers_the_error_body(world: World) -> None:
    c = _client(world.owner)
    response = c.post(
        _role_url(world, world.owner), {"role": "agent"}, headers={"accept": "application/json"}
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == LastOwnerError.code


def test_a_role_refusal_answers_the_403_page(world: World) -> None:
    c = _client(world.admin)
    response = c.post(_role_url(world, world.owner), {"role": "agent"})
    assert response.status_code == 403
    assert "Only an owner" in response.content.decode()


def test_another_tenants_object_answers_404_like_a_missing_one(world: World) -> None:
    c = _client(world.owner)
    foreign = c.post(_role_url(world, world.other_owner), {"role": "agent"})
    missing = c.post(f"/t/{world.tenant.slug}/settings/members/999999/role/", {"role": "agent"})
    malformed_team = c.get(f"/t/{world.tenant.slug}/settings/teams/99999999999999999999/")
    assert foreign.status_code == missing.status_code == malformed_team.status_code == 404


def test_get_or_not_found_treats_malformed_ids_as_missing(world: World) -> None:
    from accounts.selectors import member_list
    from accounts.tenancy import tenant_scope

    with tenant_scope(world.tenant):
        assert get_or_not_found(member_list(), pk=world.admin.pk) == world.admin
        for bad in ("abc", None, 10**30, world.other_owner.pk):
            with pytest.raises(NotFound):
                get_or_not_found(member_list(), pk=bad)


def test_back_url_prefers_the_declared_page_then_our_referer_then_a_safe_default() -> None:
    rf = RequestFactory()
    request: HttpRequest = rf.post("/t/acme/x/", headers={"referer": "http://testserver/t/acme/y/"})
    assert back_url(request) == "http://testserver/t/acme/y/"
    request = rf.post("/t/acme/x/", headers={"referer": "https://evil.test/phish"})
    assert back_url(request) == "/"  # no tenant on a bare request: the site's root
    assert back_url(rf.get("/t/acme/x/?page=2")) == "/t/acme/x/?page=2"
    request = rf.post("/t/acme/x/")
    request._refusal_target = (lambda req, kwargs: f"/declared/{kwargs['n']}/", {"n": 3})  # type: ignore[attr-defined]
    assert back_url(request) == "/declared/3/"


def test_the_api_handler_answers_service_errors_with_their_status() -> None:
    for exc in (Invalid("bad", field="f"), NotAllowed("no"), NotFound("gone"), Conflict("busy")):
        response = exception_handler(exc, {})
        assert response is not None
        assert response.status_code == exc.status
        assert response.data == exc.body()
    assert isinstance(LastOwnerError("x"), ServiceError)
