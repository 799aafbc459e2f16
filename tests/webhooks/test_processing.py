"""Splitting, routing, idempotent handlers, retries, dead letters and replay."""

from __future__ import annotations

import random

import pytest
from django.test import Client

from accounts.tenancy import tenant_scope
from inbox.models import Message, MessageStatusEvent
from tests.fixtures_webhooks import Routed, post_signed
from waba_portal.webhooks import registry, samples, services
from waba_portal.webhooks.models import ChangeStatus, DeliveryStatus, WebhookChange, WebhookDelivery

pytestmark = pytest.mark.django_db(transaction=True)  # on-commit queuing runs for real


def store(payload: dict, *, new: bool = True) -> int | None:
    delivery_id, created = services.delivery_store(body=samples.dumps(payload))
    assert created is new
    return delivery_id


def messages_of(tenant) -> list[Message]:  # type: ignore[no-untyped-def]
    with tenant_scope(tenant):
        return list(Message.objects.order_by("wamid"))


def test_a_batched_delivery_is_split_and_routed_to_each_tenant(routed: Routed) -> None:
    r = routed
    payload = samples.envelope(
        (
            r.waba_a,
            [
                samples.change(
                    "messages", samples.inbound_text(phone_number_id=r.phone_a, text="A1")
                ),
                samples.change(
                    "messages", samples.inbound_text(phone_number_id=r.phone_a, text="A2")
                ),
            ],
        ),
        (
            r.waba_b,
            [
                samples.change(
                    "messages", samples.inbound_text(phone_number_id=r.phone_b, text="B1")
                )
            ],
        ),
        (
            "999",
            [samples.change("messages", samples.inbound_text(phone_number_id="888", text="lost?"))],
        ),
        (r.waba_a, [samples.change("brand_new_field", {"anything": 1})]),
    )
    delivery_id = store(payload)  # processed at commit (tasks run in-process here)
    assert sorted(m.text for m in messages_of(r.world.tenant)) == ["A1", "A2"]
    assert [m.text for m in messages_of(r.world.other_tenant)] == ["B1"]
    outcomes = list(
        WebhookChange.objects.order_by("entry_index", "change_index").values_list(
            "status", "tenant__slug"
        )
    )
    assert outcomes == [
        ("processed", "acme"),
        ("processed", "acme"),
        ("processed", "globex"),
        ("unroutable", None),
        ("unhandled", "acme"),
    ]
    # Unroutable and unknown changes are kept for inspection; the delivery is done.
    assert WebhookDelivery.objects.get().status == DeliveryStatus.PROCESSED
    # A forced run (what a replay does) goes through every change again, harmlessly.
    report = services.deliveries_process(delivery_ids=[delivery_id], force=True)
    assert (report.deliveries, report.changes, report.events) == (1, 5, 5)
    assert sorted(m.text for m in messages_of(r.world.tenant)) == ["A1", "A2"]


def test_processing_twice_and_replaying_never_doubles_messages(routed: Routed) -> None:
    r = routed
    msg_id = samples.wamid()
    payload = samples.envelope(
        (
            r.waba_a,
            [
                samples.change(
                    "messages", samples.inbound_text(phone_number_id=r.phone_a, msg_id=msg_id)
                )
            ],
        )
    )
    delivery_id = store(payload)
    services.deliveries_process(delivery_ids=[delivery_id])
    services.deliveries_process(delivery_ids=[delivery_id])
    services.deliveries_replay(delivery_ids=[delivery_id])  # eager in tests: runs now
    # The same message in another delivery (Meta re-sends with another envelope time).
    payload["entry"][0]["time"] += 5
    store(payload)
    services.deliveries_process()
    assert [m.wamid for m in messages_of(r.world.tenant)] == [msg_id]


@pytest.mark.parametrize("together", [False, True], ids=["one per delivery", "one delivery"])
@pytest.mark.parametrize("seed", range(5))
def test_statuses_in_any_order_end_in_the_same_state(
    routed: Routed, seed: int, together: bool
) -> None:
    r = routed
    ids = [samples.wamid() for _ in range(4)]
    plan = {
        ids[0]: ["sent", "delivered", "read"],
        ids[1]: ["sent", "delivered"],
        ids[2]: ["sent", "failed"],
        ids[3]: ["read"],
    }
    values = [
        samples.status(phone_number_id=r.phone_a, msg_id=m, status=s)
        for m, statuses in plan.items()
        for s in statuses
    ]
    rng = random.Random(seed)
    rng.shuffle(values)
    changes = [samples.change("messages", v) for v in values]
    if together:  # Meta batching: every status in one delivery, handled in one group
        bodies = [samples.dumps(samples.envelope((r.waba_a, changes)))]
    else:
        bodies = [samples.dumps(samples.envelope((r.waba_a, [c]))) for c in changes]
    for i, body in enumerate(bodies + bodies[: max(len(bodies) // 2, 1)]):  # redelivered
        assert services.delivery_store(body=body)[1] is (i < len(bodies))
        services.deliveries_process()
    state = {m.wamid: (m.status, m.error_code) for m in messages_of(r.world.tenant)}
    assert state == {
        ids[0]: ("read", None),
        ids[1]: ("delivered", None),
        ids[2]: ("failed", 131026),
        ids[3]: ("read", None),
    }
    with tenant_scope(r.world.tenant):
        assert MessageStatusEvent.objects.count() == 8


def test_a_status_through_another_tenants_number_cannot_touch_my_message(routed: Routed) -> None:
    r = routed
    msg_id = samples.wamid()
    store(
        samples.envelope(
            (
                r.waba_a,
                [
                    samples.change(
                        "messages",
                        samples.status(phone_number_id=r.phone_a, msg_id=msg_id, status="sent"),
                    )
                ],
            )
        )
    )
    store(
        samples.envelope(
            (
                r.waba_b,
                [
                    samples.change(
                        "messages",
                        samples.status(phone_number_id=r.phone_b, msg_id=msg_id, status="read"),
                    )
                ],
            )
        )
    )
    services.deliveries_process()
    assert [(m.wamid, m.status) for m in messages_of(r.world.tenant)] == [(msg_id, "sent")]


@pytest.fixture
def flaky_handler():  # type: ignore[no-untyped-def]
    """A handler on a test field that fails while ``state['fail']`` is true."""
    state = {"fail": True, "calls": 0}

    def handler(tenant, events):  # type: ignore[no-untyped-def]
        state["calls"] += 1
        if state["fail"] and any(e.raw.get("boom") for e in events):
            raise RuntimeError("handler exploded")

    registry.webhook_handler("test_flaky")(handler)
    yield state
    registry._handlers.pop("test_flaky", None)


def test_one_failing_change_does_not_hold_back_the_others(
    routed: Routed, flaky_handler, settings
) -> None:  # type: ignore[no-untyped-def]
    """Good and bad changes of one delivery run as one group first; when the group
    fails, change by change, and a retry runs only what failed."""
    r = routed
    bad = store(
        samples.envelope(
            (
                r.waba_a,
                [
                    samples.change("test_flaky", {"boom": False}),
                    samples.change("test_flaky", {"boom": True}),
                ],
            )
        )
    )
    delivery = WebhookDelivery.objects.get(pk=bad)
    assert delivery.status == DeliveryStatus.RETRYING
    assert delivery.next_attempt_at is not None
    assert "handler exploded" in delivery.last_error
    changes = WebhookChange.objects.filter(delivery_id=bad).order_by("change_index")
    assert [(c.status, c.attempts) for c in changes] == [
        (ChangeStatus.PROCESSED, 1),
        (ChangeStatus.FAILED, 1),
    ]
    # group, then each change on its own
    assert flaky_handler["calls"] == 3
    # The retry runs the failed change only; the processed one is not run again.
    WebhookDelivery.objects.filter(pk=bad).update(next_attempt_at="2000-01-01T00:00:00Z")
    services.deliveries_process(delivery_ids=[bad])
    assert flaky_handler["calls"] == 4
    assert [(c.status, c.attempts) for c in changes.all()] == [
        (ChangeStatus.PROCESSED, 1),
        (ChangeStatus.FAILED, 2),
    ]


def test_retries_are_bounded_then_dead_letter_then_replay(
    routed: Routed, flaky_handler, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    r = routed
    bad = store(samples.envelope((r.waba_a, [samples.change("test_flaky", {"boom": True})])))
    # The first attempt ran at commit; a retry is not due before its time ...
    assert services.deliveries_process(delivery_ids=[bad]).deliveries == 0
    for _ in range(2):  # ... and once due, it runs again.
        WebhookDelivery.objects.filter(pk=bad).update(next_attempt_at="2000-01-01T00:00:00Z")
        services.deliveries_process(delivery_ids=[bad])
    delivery = WebhookDelivery.objects.get(pk=bad)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DEAD, 3)
    assert WebhookChange.objects.get(delivery_id=bad).status == ChangeStatus.DEAD
    # Nothing picks a dead letter up by itself ...
    assert services.deliveries_process().deliveries == 0
    # ... until staff replay it, after the cause is fixed.
    flaky_handler["fail"] = False
    services.deliveries_replay(delivery_ids=[bad])
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PROCESSED
    assert WebhookChange.objects.get(delivery_id=bad).status == ChangeStatus.PROCESSED


def test_unroutable_change_is_routed_on_replay_once_the_number_is_connected(routed: Routed) -> None:
    from tests.factories import claim

    r = routed
    delivery_id = store(
        samples.envelope(
            (
                "333",
                [
                    samples.change(
                        "messages", samples.inbound_text(phone_number_id="444", text="early")
                    )
                ],
            )
        )
    )
    assert WebhookChange.objects.get().status == ChangeStatus.UNROUTABLE
    claim(r.world.tenant, "333", "444")
    services.deliveries_replay(delivery_ids=[delivery_id])
    assert WebhookChange.objects.get().status == ChangeStatus.PROCESSED
    assert [m.text for m in messages_of(r.world.tenant)] == ["early"]


def test_malformed_envelope_becomes_a_dead_letter_with_its_reason(routed: Routed) -> None:
    store({"object": "whatsapp_business_account", "entry": "nope"})
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.DEAD
    assert "entry" in delivery.last_error


def test_malformed_change_is_dead_but_its_siblings_are_processed(routed: Routed) -> None:
    r = routed
    store(
        samples.envelope(
            (
                r.waba_a,
                [
                    samples.change(
                        "messages", samples.inbound_text(phone_number_id=r.phone_a, text="fine")
                    ),
                    {"field": "messages", "value": "not an object"},
                ],
            )
        )
    )
    assert [m.text for m in messages_of(r.world.tenant)] == ["fine"]
    statuses = list(WebhookChange.objects.order_by("change_index").values_list("status", flat=True))
    assert statuses == ["processed", "dead"]
    assert WebhookDelivery.objects.get().status == DeliveryStatus.DEAD


def test_sweeper_queues_stale_and_due_deliveries(routed: Routed, settings) -> None:  # type: ignore[no-untyped-def]
    settings.WEBHOOK_STALE_SECONDS = 0
    r = routed
    WebhookDelivery.objects.create(
        received_at="2026-01-01T00:00:00Z",
        body=samples.dumps(
            samples.envelope(
                (
                    r.waba_a,
                    [
                        samples.change(
                            "messages",
                            samples.inbound_text(phone_number_id=r.phone_a, text="swept"),
                        )
                    ],
                )
            )
        ),
        body_sha256="x" * 64,
    )

    def retrying(text: str, due: str) -> WebhookDelivery:
        body = samples.dumps(
            samples.envelope(
                (
                    r.waba_a,
                    [
                        samples.change(
                            "messages", samples.inbound_text(phone_number_id=r.phone_a, text=text)
                        )
                    ],
                )
            )
        )
        return WebhookDelivery.objects.create(
            received_at="2026-01-01T00:00:00Z",
            body=body,
            body_sha256=text.ljust(64, "y"),
            status=DeliveryStatus.RETRYING,
            attempts=1,
            next_attempt_at=due,
        )

    retrying("retry due", "2026-01-01T00:00:00Z")  # its queued run was lost
    later = retrying("retry later", "2999-01-01T00:00:00Z")
    assert services.deliveries_sweep() == 2
    assert sorted(m.text for m in messages_of(r.world.tenant)) == ["retry due", "swept"]
    later.refresh_from_db()
    assert (later.status, later.attempts) == (DeliveryStatus.RETRYING, 1)


# --- Staff pages --------------------------------------------------------------------


def test_staff_pages_are_404_for_tenant_users(routed: Routed) -> None:
    delivery_id = store(samples.envelope((routed.waba_a, [])))
    c = Client()
    c.force_login(routed.world.owner.user)
    assert c.get("/staff/webhooks/").status_code == 404
    assert c.get(f"/staff/webhooks/{delivery_id}/").status_code == 404
    assert c.post("/staff/webhooks/replay/", {"delivery_id": delivery_id}).status_code == 404


def test_staff_inspect_and_replay_one_and_a_range(routed: Routed, flaky_handler) -> None:  # type: ignore[no-untyped-def]
    r = routed
    staff = r.world.owner.user
    staff.is_staff = True
    staff.save()
    c = Client()
    c.force_login(staff)
    first = store(samples.envelope((r.waba_a, [samples.change("test_flaky", {"boom": True})])))
    second = store(
        samples.envelope((r.waba_a, [samples.change("test_flaky", {"boom": True, "n": 2})]))
    )
    listing = c.get("/staff/webhooks/?status=retrying").content.decode()
    assert f'href="/staff/webhooks/{first}/"' in listing
    detail = c.get(f"/staff/webhooks/{first}/").content.decode()
    assert "handler exploded" in detail and "&quot;boom&quot;: true" in detail
    flaky_handler["fail"] = False
    c.post("/staff/webhooks/replay/", {"delivery_id": first})
    assert WebhookDelivery.objects.get(pk=first).status == DeliveryStatus.PROCESSED
    assert WebhookDelivery.objects.get(pk=second).status == DeliveryStatus.RETRYING
    # The filter shows what it names, and only that.
    listing = c.get("/staff/webhooks/?status=retrying").content.decode()
    assert f'href="/staff/webhooks/{second}/"' in listing
    assert f'href="/staff/webhooks/{first}/"' not in listing
    # A range replay with a status takes only deliveries in that status.
    calls = flaky_handler["calls"]
    c.post("/staff/webhooks/replay/", {"from_id": first, "to_id": second, "status": "retrying"})
    assert WebhookDelivery.objects.get(pk=second).status == DeliveryStatus.PROCESSED
    assert flaky_handler["calls"] == calls + 1  # the processed first one was not run again
    # After a replay, staff go back to the list, never to another site.
    away = c.post(
        "/staff/webhooks/replay/", {"delivery_id": first, "next": "https://evil.example/"}
    )
    assert away["Location"] == "/staff/webhooks/"
    bad = c.post("/staff/webhooks/replay/", {"from_id": "9", "to_id": "1"}, follow=True)
    assert "Give one delivery, or a range" in bad.content.decode()


def test_endpoint_to_inbox_in_one_go(client: Client, routed: Routed) -> None:
    """Eager mode in unit tests: the POST's on-commit task runs in-process."""
    r = routed
    response = post_signed(
        client,
        samples.envelope(
            (
                r.waba_a,
                [
                    samples.change(
                        "messages", samples.inbound_text(phone_number_id=r.phone_a, text="via http")
                    )
                ],
            )
        ),
    )
    assert response.status_code == 200
    assert [m.text for m in messages_of(r.world.tenant)] == ["via http"]


@pytest.mark.parametrize("redis_url", ["", "redis"])
def test_the_processing_flag_with_and_without_redis(settings, redis_url: str) -> None:  # type: ignore[no-untyped-def]
    """Local runs keep the flag in the cache, deployments in Redis; both must work."""
    settings.WEBHOOK_KICK_LOCAL_SECONDS = 0
    if not redis_url:
        settings.REDIS_URL = ""
    flag = services.kick._KickFlag()
    flag.release()
    assert flag.claim() is True
    assert flag.claim() is False  # set: nobody else queues a drain
    flag.refresh()
    flag.release()
    assert flag.claim() is True
    flag.release()


@pytest.mark.parametrize("redis_url", ["", "redis"])
def test_a_running_drain_keeps_the_flag_past_its_first_expiry(settings, redis_url: str) -> None:  # type: ignore[no-untyped-def]
    import time

    settings.WEBHOOK_KICK_LOCAL_SECONDS = 0
    settings.WEBHOOK_KICK_TTL_SECONDS = 1
    if not redis_url:
        settings.REDIS_URL = ""
    flag = services.kick._KickFlag()
    flag.release()
    assert flag.claim() is True
    time.sleep(0.6)
    flag.refresh()  # the drain is still at work
    time.sleep(0.6)  # past the first claim's expiry
    assert flag.claim() is False  # so nobody queues a second drain
    flag.release()


@pytest.mark.parametrize("redis_url", ["", "redis"])
def test_a_held_flag_is_released_however_the_block_ends_and_only_by_its_holder(
    settings,
    redis_url: str,  # type: ignore[no-untyped-def]
) -> None:
    settings.WEBHOOK_KICK_LOCAL_SECONDS = 0
    if not redis_url:
        settings.REDIS_URL = ""
    flag = services.kick._KickFlag()
    flag.release()
    with pytest.raises(RuntimeError), flag.held():
        assert flag.claim() is False
        raise RuntimeError("the drain failed")
    assert flag.claim() is True  # released on the way out
    flag.release()
    with flag.held() as hold:
        hold.release()  # the drain let go of it (its last look) ...
        assert flag.claim() is True  # ... and a POST took it meanwhile
    assert flag.claim() is False  # the end of the block left the POST's flag alone
    flag.release()
    with flag.held() as hold:
        hold.hand_over()  # time is up: a successor is queued
    assert flag.claim() is False  # still set for it
    flag.release()


def test_a_process_that_saw_the_flag_skips_redis_for_a_moment(settings) -> None:  # type: ignore[no-untyped-def]
    settings.WEBHOOK_KICK_LOCAL_SECONDS = 60
    flag = services.kick._KickFlag()
    flag.release()
    assert flag.claim() is True
    flag.release()
    assert flag.claim() is False  # within the window: not asked again
    assert flag.kick_grace > settings.WEBHOOK_KICK_LOCAL_SECONDS


def test_a_delivery_the_database_refuses_is_a_dead_letter_and_holds_back_nothing(
    routed: Routed, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A value PostgreSQL refuses breaks the batch's transaction; its neighbours are
    processed one by one and only it is dead. (Payloads are made storable before they
    reach the database, so this test lets a NUL through to get such a value.)"""
    from django.db import transaction

    monkeypatch.setattr(services.dispatch, "storable", lambda document: document)
    r = routed
    with transaction.atomic():  # both are stored before the drain runs: one batch
        bad = store(samples.envelope((r.waba_a, [samples.change("odd\u0000field", {"x": 1})])))
        good = store(
            samples.envelope(
                (
                    r.waba_a,
                    [
                        samples.change(
                            "messages",
                            samples.inbound_text(phone_number_id=r.phone_a, text="still here"),
                        )
                    ],
                )
            )
        )
    dead = WebhookDelivery.objects.get(pk=bad)
    assert dead.status == DeliveryStatus.DEAD
    assert dead.last_error.startswith("ValueError: ") and "NUL" in dead.last_error
    assert dead.attempts == 1
    assert WebhookDelivery.objects.get(pk=good).status == DeliveryStatus.PROCESSED
    assert [m.text for m in messages_of(r.world.tenant)] == ["still here"]
    assert "processing its deliveries one by one" in caplog.text
    # Staff can replay it; it fails the same way and stays a dead letter, counted.
    services.deliveries_process_guarded(delivery_ids=[bad], force=True)
    assert WebhookDelivery.objects.get(pk=bad).attempts == 2


def test_a_status_meta_added_since_is_kept_and_fails_nothing(routed: Routed) -> None:
    r = routed
    store(
        samples.envelope(
            (
                r.waba_a,
                [
                    samples.change(
                        "messages",
                        samples.status(
                            phone_number_id=r.phone_a, msg_id="wamid.NEW", status="warning"
                        ),
                    )
                ],
            )
        )
    )
    assert WebhookChange.objects.get().status == ChangeStatus.PROCESSED
    with tenant_scope(r.world.tenant):
        event = MessageStatusEvent.objects.get(wamid="wamid.NEW")
        assert (event.status, event.rank) == ("warning", 0)
        assert Message.objects.get(wamid="wamid.NEW").status == "queued"


def test_the_intake_answers_200_and_keeps_the_delivery_when_redis_is_down(
    client: Client,
    routed: Routed,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The flag lives in Redis; without it the delivery is stored and the sweeper takes it."""
    import redis

    unreachable = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    monkeypatch.setitem(services.kick_flag.__dict__, "_redis", unreachable)
    monkeypatch.setattr(services.kick_flag, "_skip_until", float("-inf"))
    monkeypatch.setattr(services.kick.redis_outage, "active", False)
    payload = samples.envelope(
        (
            routed.waba_a,
            [samples.change("messages", samples.inbound_text(phone_number_id=routed.phone_a))],
        )
    )
    response = post_signed(client, payload)
    assert response.status_code == 200
    assert response.json()["stored"] is True
    assert WebhookDelivery.objects.get().status == DeliveryStatus.RECEIVED
    assert "the sweeper will" in caplog.text


def test_a_deactivated_workspace_gets_no_webhooks_and_its_pages_answer_404(
    routed: Routed,
) -> None:
    from tests.factories import PASSWORD

    r = routed
    r.world.tenant.is_active = False
    r.world.tenant.save(update_fields=["is_active"])
    store(
        samples.envelope(
            (
                r.waba_a,
                [samples.change("messages", samples.inbound_text(phone_number_id=r.phone_a))],
            )
        )
    )
    assert WebhookChange.objects.get().status == ChangeStatus.UNROUTABLE
    assert messages_of(r.world.tenant) == []
    owner = Client()
    assert owner.login(email=r.world.owner.user.email, password=PASSWORD)
    assert owner.get("/t/acme/").status_code == 404
    assert owner.get("/api/v1/t/acme/wabas/").status_code == 404


# --- Faults: the flag, the sweeper, a lost database link ------------------------------


def test_a_drain_that_fails_on_a_database_error_releases_its_flag_at_once(
    settings,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    """Processing must not pause for the flag's expiry after a drain failed."""
    from django.db import OperationalError

    from waba_portal.webhooks.services import drain

    settings.WEBHOOK_KICK_LOCAL_SECONDS = 0
    flag = services.kick_flag
    flag.release()

    def database_gone(**kwargs: object) -> services.ProcessReport:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(drain, "deliveries_process_guarded", database_gone)
    with pytest.raises(OperationalError):
        services.deliveries_drain(max_seconds=5)
    assert flag.claim() is True  # free: the next POST queues a drain at once
    flag.release()


def test_a_running_drain_holds_the_flag_by_heartbeat_and_a_killed_one_lets_go_soon(
    settings,  # type: ignore[no-untyped-def]
) -> None:
    """A drain's flag outlives any batch while the drain lives, and expires within
    WEBHOOK_KICK_TTL_SECONDS once it is killed (no release, no more heartbeat)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    assert settings.WEBHOOK_KICK_TTL_SECONDS <= 5  # the default: a few seconds, not 15
    settings.WEBHOOK_KICK_LOCAL_SECONDS = 0
    flag = services.kick_flag
    flag.release()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time, django; django.setup()\n"
            "from waba_portal.webhooks.services import kick_flag\n"
            "with kick_flag.held():\n"
            "    print('held', flush=True)\n"
            "    time.sleep(60)\n",
        ],
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "WEBHOOK_KICK_TTL_SECONDS": "1",
        },
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        time.sleep(2.5)  # two and a half expiries, nothing but the heartbeat renewing it
        assert flag.claim() is False
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        killed_at = time.monotonic()
        while not flag.claim():
            assert time.monotonic() - killed_at < 2.5, "the dead drain's flag did not expire"
            time.sleep(0.1)
    finally:
        holder.kill()
        holder.wait(10)
        flag.release()


def _inbound(r: Routed, text: str) -> bytes:
    value = samples.inbound_text(phone_number_id=r.phone_a, text=text)
    return samples.dumps(samples.envelope((r.waba_a, [samples.change("messages", value)])))


def test_deliveries_left_behind_are_taken_up_seconds_after_the_cause_is_gone(
    routed: Routed,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    """A delivery whose drain died with it: the sweeper (beat, every few seconds) finds
    it once the dead drain's flag has expired, not a minute and a half later."""
    import hashlib
    import time
    from datetime import timedelta

    from django.utils import timezone

    from waba_portal.celery import app

    # The defaults: a delivery waits at most the flag's expiry plus one sweep interval.
    assert settings.WEBHOOK_STALE_SECONDS == settings.WEBHOOK_KICK_TTL_SECONDS <= 5
    assert app.conf.beat_schedule["sweep-webhook-deliveries"]["schedule"] <= 5
    assert settings.WEBHOOK_SWEEP_SECONDS <= 5

    settings.WEBHOOK_KICK_LOCAL_SECONDS = 0
    settings.WEBHOOK_KICK_TTL_SECONDS = settings.WEBHOOK_STALE_SECONDS = 1
    services.kick_flag.release()
    services.kick_flag.refresh()  # the last heartbeat of a drain that was killed
    body = _inbound(routed, "left behind")
    left = WebhookDelivery.objects.create(  # stored while that drain was at work
        received_at=timezone.now() - timedelta(seconds=1.5),
        body=body,
        body_sha256=hashlib.sha256(body).hexdigest(),
    )
    assert services.deliveries_sweep() == 1
    left.refresh_from_db()
    assert left.status == DeliveryStatus.RECEIVED  # the flag still says a drain has it
    time.sleep(1.2)  # the flag expires: nobody has it
    assert services.deliveries_sweep() == 1  # kicks a drain (eager here: it runs now)
    left.refresh_from_db()
    assert left.status == DeliveryStatus.PROCESSED
    assert [m.text for m in messages_of(routed.world.tenant)] == ["left behind"]
    assert services.deliveries_sweep() == 0


def test_a_lost_database_connection_is_replaced_once_and_logged_once(
    routed: Routed, caplog: pytest.LogCaptureFixture
) -> None:
    """The worker's backend is terminated mid-batch (a PostgreSQL restart, a failover):
    not a handler failure. The batch runs again on a new connection, with one line."""
    import logging
    import time

    import psycopg2
    from django.db import connection

    calls: list[int] = []

    def terminate_my_backend(tenant, events) -> None:  # type: ignore[no-untyped-def]
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        calls.append(pid)
        if len(calls) > 1:
            return
        db = connection.settings_dict
        other = psycopg2.connect(
            dbname=db["NAME"],
            user=db["USER"],
            password=db["PASSWORD"] or None,
            host=db["HOST"] or "127.0.0.1",
            port=db["PORT"] or 5432,
        )
        other.autocommit = True
        with other.cursor() as cursor:  # only our own backend, in our own database
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE pid = %s AND datname = current_database()",
                [pid],
            )
            assert cursor.fetchone() == (True,)
        other.close()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # the handler's next statement meets the dead link
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            time.sleep(0.05)
        raise AssertionError("the backend was not terminated")

    registry.webhook_handler("test_link")(terminate_my_backend)
    try:
        caplog.set_level(logging.INFO)
        delivery_id = store(
            samples.envelope((routed.waba_a, [samples.change("test_link", {"n": 1})]))
        )
    finally:
        registry._handlers.pop("test_link", None)
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert delivery.status == DeliveryStatus.PROCESSED
    assert WebhookChange.objects.get(delivery_id=delivery_id).status == ChangeStatus.PROCESSED
    assert len(calls) == 2 and calls[0] != calls[1]  # the second on a new backend
    noisy = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage().split(" (")[0] for r in noisy] == [
        "database connection lost while processing webhooks"
    ]
    assert not any(r.exc_info for r in caplog.records)
