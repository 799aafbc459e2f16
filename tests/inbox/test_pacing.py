"""Pacing the sends (inbox/services/pacing.py): the number's and the pair's buckets in
Redis, shared by every worker; a deferred message kept queued, then sent once; Meta's
"too fast" answers (130429, 131056, 131057) retried past the ordinary bound; the
messaging limit of business-initiated templates, its 24-hour roll, a second workspace."""

from __future__ import annotations

import io
import threading
from datetime import timedelta
from typing import Any

import pytest
import redis
import time_machine
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from accounts.tenancy import tenant_scope
from inbox import tasks
from inbox.failures import failure_reason, send_state_words
from inbox.models import Conversation, Direction, Media, Message, MessageStatus
from inbox.services import outbound, outbound_media, pacing
from templates_app.models import Template
from tests.factories import World
from tests.fixtures_celery import WorkerProcess, wait_for
from tests.fixtures_senders import Connected, ConnectWaba
from waba_portal.errors import Invalid

from .conftest import Customer
from .test_outbound import reload, reply, run_send, sends, the_conversation
from .threads import thread

pytestmark = pytest.mark.django_db

ERIKA = "4915112345678"
T0 = 1_800_000_000.0  # a fixed "now" for the buckets (seconds)


@pytest.fixture(autouse=True)
def fresh_buckets() -> None:
    """Nothing of an earlier test's buckets (the mock reuses its numbers' ids)."""
    client = redis.Redis.from_url(django_settings.REDIS_URL)
    prefix = django_settings.CACHES["default"].get("KEY_PREFIX", "")
    for key in client.scan_iter(f"{prefix}:inbox:*"):
        client.delete(key)


def waits(n: int, *, number: str = "111", to: str = "", level: str = "", now: float = T0) -> list:
    return [
        pacing.turn_take(
            phone_number_id=number, recipient=to or f"49{i}", throughput_level=level, now=now
        ).wait
        for i in range(n)
    ]


# --- The buckets ----------------------------------------------------------------------------


def test_the_throughput_level_gives_the_rate() -> None:
    assert pacing.meta_throughput("STANDARD") == 80
    assert pacing.meta_throughput("") == pacing.meta_throughput("NOT_APPLICABLE") == 80
    assert pacing.meta_throughput("HIGH") == pacing.meta_throughput("high") == 1000
    standard, high = pacing.number_rate("STANDARD"), pacing.number_rate("HIGH")
    assert (standard.per_second, standard.burst) == (76, 4)  # 95 %, the rest as a burst
    assert (high.per_second, high.burst) == (950, 50)
    pair = pacing.pair_rate()
    assert (pair.burst, pair.interval) == (45, 6)


def test_a_burst_then_one_turn_each_interval_reserved_in_order() -> None:
    interval = 1 / 76
    got = waits(10)
    assert got[:4] == [0, 0, 0, 0]
    assert got[4:] == pytest.approx([k * interval for k in range(1, 7)], abs=1e-4)
    # A HIGH number of another id has its own, faster bucket.
    assert waits(51, number="222", level="HIGH")[-1] == pytest.approx(1 / 950, abs=1e-4)


def test_the_bucket_refills_with_time() -> None:
    waits(10)  # 4 at once, 6 reserved: the bucket is 6 intervals ahead
    later = T0 + 6 / 76 + 4 / 76  # those 6 have gone, and the burst has refilled
    assert waits(4, now=later) == pytest.approx([0, 0, 0, 0], abs=1e-5)
    assert waits(1, now=later)[0] > 0


def test_the_bucket_is_shared_across_threads_and_clients() -> None:
    """Two threads (and so two connections of the pool) take 100 turns together: each
    turn is taken once, the burst and then one per interval, none twice."""
    got: list[float] = []
    lock = threading.Lock()

    def take() -> None:
        mine = waits(50)
        with lock:
            got.extend(mine)

    threads = [threading.Thread(target=take) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expected = [0.0] * 4 + [k / 76 for k in range(1, 97)]
    assert sorted(got) == pytest.approx(expected, abs=1e-4)


def test_the_pair_bucket_limits_one_customer_only(settings: Any) -> None:
    settings.INBOX_PACING_PAIR_BURST = 3
    settings.INBOX_PACING_PAIR_INTERVAL_SECONDS = 6
    same = [pacing.turn_take(phone_number_id="111", recipient=ERIKA, now=T0) for _ in range(4)]
    assert [t.wait for t in same[:3]] == pytest.approx([0, 0, 0], abs=0.05)
    assert [t.holds for t in same] == [pacing.BOTH] * 3 + [pacing.PAIR]
    assert same[3].wait == pytest.approx(6.0, abs=1e-4)  # the pair's turn, not the number's
    # Another customer of the same number is not held back by it: the number's turn of
    # the 4th was not taken 6 s ahead.
    other = pacing.turn_take(phone_number_id="111", recipient="4930000", now=T0 + 1)
    assert (other.wait, other.holds) == (0, pacing.BOTH)
    # The 4th comes back at its time holding the pair's turn, and takes the number's.
    back = pacing.turn_take(phone_number_id="111", recipient=ERIKA, holds=pacing.PAIR, now=T0 + 6)
    assert (back.wait, back.holds) == (0, pacing.BOTH)
    fifth = pacing.turn_take(phone_number_id="111", recipient=ERIKA, now=T0 + 6)
    assert fifth.wait == pytest.approx(6.0, abs=1e-4)


def test_a_turn_too_far_ahead_is_not_reserved(settings: Any) -> None:
    settings.INBOX_PACING_MAX_WAIT_SECONDS = 0.05
    got = [pacing.turn_take(phone_number_id="111", recipient=f"49{i}", now=T0) for i in range(8)]
    assert [t.reserved for t in got] == [True] * 7 + [False]  # 4 at once, 3 within 0.05 s
    assert got[7].wait > 0.05 and got[7].holds == ""
    after = pacing.turn_take(phone_number_id="111", recipient="4999", now=T0)
    assert after.wait == got[7].wait  # nothing was taken by the refused one


def test_the_door_lets_sends_leave_at_the_numbers_rate() -> None:
    """The departures' bucket: a burst of 2, then one place per interval, each taken
    whatever its wait (a send sleeps it out); it refills with time, and a HIGH number's
    interval is its own."""
    interval = 1 / 76

    def door(n: int, now: float = T0, level: str = "") -> list[float]:
        return [
            pacing.departure_take(phone_number_id="111", throughput_level=level, now=now)
            for _ in range(n)
        ]

    assert door(5) == pytest.approx([0, 0, interval, 2 * interval, 3 * interval], abs=1e-5)
    assert door(2, now=T0 + 1) == pytest.approx([0, 0], abs=1e-5)
    assert door(3, now=T0 + 2, level="HIGH")[-1] == pytest.approx(1 / 950, abs=1e-5)
    # The turns' buckets are not the door's: a turn is still there to take.
    assert waits(1, now=T0) == [0]


# --- Deferred, kept queued, sent once -----------------------------------------------------------


def test_a_message_whose_turn_is_not_due_waits_queued_then_is_sent(
    world: World,
    customer: Customer,
    mock_meta: Any,
    django_capture_on_commit_callbacks: Any,
    settings: Any,
) -> None:
    settings.INBOX_PACING_RATE = 0.5  # one turn every 2 s
    settings.INBOX_PACING_DEPARTURE_BURST = 5  # the door lets the test's sends go at once
    customer.says(**{"from": ERIKA}, text="Hallo")
    conversation = the_conversation(world)
    # The turns are taken as the replies are stored: the second's is 2 s on.
    first = reply(world, conversation, django_capture_on_commit_callbacks, "eins", send=False)
    second = reply(world, conversation, django_capture_on_commit_callbacks, "zwei", send=False)
    assert outbound.send_state(first) == ""
    assert outbound.send_state(second) == outbound.SEND_WAITING
    assert second.status == MessageStatus.QUEUED
    assert "Waiting for its turn" in send_state_words(outbound.SEND_WAITING)
    with tenant_scope(world.tenant):
        assert outbound.message_send(message_pk=first.pk, holds=pacing.BOTH).status == "sent"
        # A try that holds no turn (a retry) takes one: not due, so it is reserved.
        with pytest.raises(outbound.SendLater) as later:
            outbound.message_send(message_pk=second.pk)
    assert later.value.reserved and later.value.wait > 1
    waiting = reload(world, second)
    assert (waiting.status, outbound.send_state(waiting)) == ("queued", outbound.SEND_WAITING)
    assert len(sends(mock_meta)) == 1
    # Back at its turn (reserved: it asks for none), it is sent; once.
    with tenant_scope(world.tenant):
        outbound.message_send(message_pk=second.pk, holds=later.value.holds)
        outbound.message_send(message_pk=second.pk, holds=later.value.holds)
    assert reload(world, second).status == MessageStatus.SENT
    assert [r["body"]["text"]["body"] for r in sends(mock_meta)] == ["eins", "zwei"]


@pytest.mark.parametrize(("code", "status"), [(130429, 400), (131056, 400), (131057, 500)])
def test_metas_too_fast_is_retried_past_the_ordinary_bound_then_sent(
    code: int,
    status: int,
    world: World,
    customer: Customer,
    mock_meta: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    customer.says(**{"from": ERIKA}, text="Hallo")
    conversation = the_conversation(world)
    times = 7  # more than the ordinary 5 retries
    mock_meta.fault("POST", r"/messages$", code=code, http_status=status, times=times)
    queued = reply(world, conversation, django_capture_on_commit_callbacks, send=False)
    with pytest.raises(outbound.SendThrottled), tenant_scope(world.tenant):
        outbound.message_send(message_pk=queued.pk)
    held = reload(world, queued)
    assert outbound.send_state(held) == outbound.SEND_THROTTLED
    assert held.status == MessageStatus.QUEUED
    run_send(world, queued)
    sent = reload(world, queued)
    assert sent.status == MessageStatus.SENT and sent.wamid.startswith("wamid.")
    assert [r["status"] for r in sends(mock_meta)] == [status] * times + [200]


def test_metas_too_fast_for_an_hour_fails_in_words(
    world: World,
    customer: Customer,
    mock_meta: Any,
    django_capture_on_commit_callbacks: Any,
    settings: Any,
) -> None:
    settings.INBOX_SEND_THROTTLE_MAX_RETRIES = 2
    customer.says(**{"from": ERIKA}, text="Hallo")
    mock_meta.fault("POST", r"/messages$", code=130429, http_status=400, times=50)
    failed = reply(world, the_conversation(world), django_capture_on_commit_callbacks)
    assert (failed.status, failed.error_code) == (MessageStatus.FAILED, 130429)
    assert len(sends(mock_meta)) == 3
    assert "for an hour" in failure_reason(130429)


# --- On a real worker -------------------------------------------------------------------------


@pytest.fixture
def celery_worker_env(mock_meta: Any) -> dict[str, str]:
    return {
        "GRAPH_API_BASE_URL": mock_meta.base_url,
        "INBOX_PACING_RATE": "2",  # 1.9 a second, one at a time
        "INBOX_SEND_THROTTLE_BASE_SECONDS": "0.2",
        "INBOX_SEND_THROTTLE_CAP_SECONDS": "0.5",
    }


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_on_a_worker_a_burst_waits_its_turns_and_metas_refusals_then_all_sent_once(
    world: World,
    customer: Customer,
    mock_meta: Any,
    celery_worker_process: WorkerProcess,
    settings: Any,
) -> None:
    settings.INBOX_PACING_RATE = 2  # the turns are taken here, as the replies are stored
    customer.says(**{"from": ERIKA}, text="Hallo")
    conversation = the_conversation(world)
    mock_meta.fault("POST", r"/messages$", code=130429, http_status=400, times=1)
    mock_meta.fault("POST", r"/messages$", code=131056, http_status=400, times=1)
    mock_meta.fault("POST", r"/messages$", code=131057, http_status=500, times=1)
    with tenant_scope(world.tenant):
        queued = [
            outbound.reply_text(actor=world.owner, conversation=conversation, text=f"Nr. {i}")
            for i in range(6)
        ]
    log = celery_worker_process.log

    def states() -> set[str]:
        with tenant_scope(world.tenant):
            rows = Message.objects.filter(pk__in=[m.pk for m in queued])
            return {outbound.send_state(m) or m.status for m in rows}

    # Stored waiting for their turns (as stored: the worker may send them all before a
    # poll here would look, on a busy machine).
    assert outbound.SEND_WAITING in {outbound.send_state(m) for m in queued}
    wait_for(lambda: states() == {MessageStatus.SENT}, timeout=60, message=log()[-3000:])
    accepted = [r["body"]["text"]["body"] for r in sends(mock_meta) if r["status"] == 200]
    assert sorted(accepted) == sorted(f"Nr. {i}" for i in range(6))  # each once
    assert [r["status"] for r in sends(mock_meta)].count(200) == 6
    assert len(sends(mock_meta)) == 9  # and the three refusals


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_on_a_worker_a_send_due_long_ago_keeps_its_turn(
    world: World,
    customer: Customer,
    mock_meta: Any,
    celery_worker_process: WorkerProcess,
) -> None:
    """A send task that runs long after its reserved turn (the workers were behind, or
    down) is sent as it is, taking its place at the door: it takes no second turn of the
    number, which would queue it behind every turn reserved since (and a backlog of
    late sends would feed itself)."""
    customer.says(**{"from": ERIKA}, text="Hallo")
    conversation = the_conversation(world)
    with tenant_scope(world.tenant):
        message = outbound.reply_text(actor=world.owner, conversation=conversation, text="eins")
    log = celery_worker_process.log
    wait_for(lambda: reload(world, message).status == MessageStatus.SENT, message=log()[-3000:])
    # The same row queued again, as if its task had waited in the broker for 5 minutes.
    with tenant_scope(world.tenant):
        Message.objects.filter(pk=message.pk).update(
            status=MessageStatus.QUEUED, payload={**message.payload, "send": {}}
        )
    phone_id = conversation.channel.phone_number_id
    client = redis.Redis.from_url(django_settings.REDIS_URL)
    turns = client.get(pacing.number_key(phone_id))
    tasks.message_send_task.apply_async(
        (world.tenant.pk, message.pk),
        {"turn": pacing.BOTH},
        eta=timezone.now() - timedelta(minutes=5),
    )
    wait_for(lambda: len(sends(mock_meta)) == 2, message=log()[-3000:])
    wait_for(lambda: reload(world, message).status == MessageStatus.SENT, message=log()[-3000:])
    assert client.get(pacing.number_key(phone_id)) in (turns, None)  # the same, or expired
    assert client.get(pacing.departure_key(phone_id)) is not None  # its place at the door


# --- The messaging limit ------------------------------------------------------------------------


def _template(c: Connected) -> Template:
    with tenant_scope(c.tenant):
        return Template.objects.create(
            tenant=c.tenant,
            waba=c.waba,
            meta_template_id="9000001",
            name="order_ready",
            language="de",
            category="UTILITY",
            parameter_format="POSITIONAL",
            components=[{"type": "BODY", "text": "Ihre Bestellung ist bereit."}],
            status="APPROVED",
            ever_approved=True,
        )


def _outside(c: Connected, n: int) -> list[Conversation]:
    rows = [thread(c.phone, last_inbound=timedelta(hours=30)) for _ in range(n)]
    with tenant_scope(c.tenant):
        return list(
            Conversation.objects.filter(pk__in=[r.pk for r in rows])
            .select_related("contact", "channel__waba")
            .order_by("pk")
        )


def _send(world: World, template: Template, conversation: Conversation) -> Message:
    with tenant_scope(conversation.tenant):
        actor = world.owner if conversation.tenant_id == world.tenant.pk else world.other_owner
        return outbound.reply_template(
            actor=actor, conversation=conversation, template=template, parameters={}
        )


def test_business_initiated_templates_stop_at_the_messaging_limit_and_roll_after_24_hours(
    world: World, connect_waba: ConnectWaba, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(pacing.TIER_LIMITS, "TIER_250", 2)  # a tier of two customers
    c = connect_waba(world.tenant, limit="TIER_250")
    template = _template(c)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        first, second, third = _outside(c, 3)
        inside = thread(c.phone, last_inbound=timedelta(hours=1))
    with time_machine.travel(start, tick=False):
        _send(world, template, first)
    with time_machine.travel(start + timedelta(hours=2), tick=False):
        _send(world, template, second)
        with tenant_scope(world.tenant):
            inside = Conversation.objects.select_related("contact", "channel__waba").get(
                pk=inside.pk
            )
        _send(world, template, inside)  # inside its window: not business-initiated
        with tenant_scope(world.tenant):
            stored = Message.objects.filter(direction=Direction.OUTBOUND).count()
        with pytest.raises(Invalid) as refused:
            _send(world, template, third)
        assert refused.value.code == "messaging_limit_reached"
        assert "2 customers in 24 hours" in refused.value.message
        assert "A place frees up in 22" in refused.value.message  # hours, when first rolls off
        assert refused.value.details["limit"] == 2
        with tenant_scope(world.tenant):  # nothing stored for the refusal
            assert Message.objects.filter(direction=Direction.OUTBOUND).count() == stored
            assert not third.messages.filter(direction=Direction.OUTBOUND).exists()
        _send(world, template, first)  # counted already: sent, not counted a second time
    # The first customer was last reached 2 h after start: still counted at 25 h.
    with time_machine.travel(start + timedelta(hours=25), tick=False), pytest.raises(Invalid):
        _send(world, template, third)
    with time_machine.travel(start + timedelta(hours=26, seconds=1), tick=False):
        _send(world, template, third)


def test_a_second_workspace_has_its_own_limit_and_its_own_bucket(
    world: World, connect_waba: ConnectWaba, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(pacing.TIER_LIMITS, "TIER_250", 1)
    ours = connect_waba(world.tenant, limit="TIER_250")
    theirs = connect_waba(world.other_tenant, limit="TIER_250", name="Globex WABA")
    mine, more = _outside(ours, 2)
    (other,) = _outside(theirs, 1)
    template = _template(ours)
    _send(world, template, mine)
    with pytest.raises(Invalid):
        _send(world, template, more)
    assert _send(world, _template(theirs), other).status == MessageStatus.QUEUED
    # Throughput: the other workspace's number has a bucket of its own.
    for _ in range(4):
        pacing.turn_take(phone_number_id=ours.phone_number_id, recipient="491", now=T0)
    assert pacing.turn_take(phone_number_id=ours.phone_number_id, recipient="492", now=T0).wait
    assert not pacing.turn_take(phone_number_id=theirs.phone_number_id, recipient="49", now=T0).wait


def test_an_unknown_or_unlimited_tier_is_not_counted(
    world: World, connect_waba: ConnectWaba
) -> None:
    c = connect_waba(world.tenant, limit="TIER_UNLIMITED")
    template = _template(c)
    for conversation in _outside(c, 3):
        assert _send(world, template, conversation).status == MessageStatus.QUEUED
    assert pacing.tier_limit("") is None and pacing.tier_limit("TIER_2K") == 2000


def test_a_template_with_a_header_file_counts_against_the_limit_too(
    world: World, connect_waba: ConnectWaba, monkeypatch: pytest.MonkeyPatch
) -> None:
    def photo() -> SimpleUploadedFile:
        out = io.BytesIO()
        Image.new("RGB", (64, 64), (200, 40, 40)).save(out, format="JPEG")
        return SimpleUploadedFile("paket.jpg", out.getvalue(), content_type="image/jpeg")

    monkeypatch.setitem(pacing.TIER_LIMITS, "TIER_250", 1)
    c = connect_waba(world.tenant, limit="TIER_250")
    with tenant_scope(c.tenant):
        template = Template.objects.create(
            tenant=c.tenant,
            waba=c.waba,
            meta_template_id="9000002",
            name="parcel_photo",
            language="de",
            category="UTILITY",
            parameter_format="POSITIONAL",
            components=[
                {"type": "HEADER", "format": "IMAGE"},
                {"type": "BODY", "text": "Ihr Paket ist da."},
            ],
            status="APPROVED",
            ever_approved=True,
        )
    first, second = _outside(c, 2)
    with tenant_scope(world.tenant):
        outbound_media.reply_template_media(
            actor=world.owner,
            conversation=first,
            template=template,
            parameters={},
            header_upload=photo(),
        )
        with pytest.raises(Invalid) as refused:
            outbound_media.reply_template_media(
                actor=world.owner,
                conversation=second,
                template=template,
                parameters={},
                header_upload=photo(),
            )
        assert refused.value.code == "messaging_limit_reached"
        assert Media.objects.count() == 1  # nothing stored for the refusal
        assert not second.messages.filter(direction=Direction.OUTBOUND).exists()
