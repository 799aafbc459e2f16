"""Realistic webhook traffic for the benchmarks, built with ``waba_portal.webhooks.samples``.

Three kinds of traffic:

- :func:`intake_templates`: a mix of bodies (single statuses, single inbound texts,
  batches of several entries) with a marker in every message id, which the load
  generator replaces per request so that every body is unique (no dedup shortcut);
- :func:`conversation_stream`: N events as Meta would send them in order: every
  outbound message gets ``sent``, ``delivered``, ``read`` (some stop at delivered,
  some fail), inbound texts in between, some deliveries batched; with the final state
  each message must end in;
- :func:`chaos_bodies`: the deliveries of a stream redelivered 3x each, as identical
  copies, split (one change per POST) and merged (entries of several deliveries in
  one POST), shuffled.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

from waba_portal.webhooks import samples

MARKER = "@@UNIQ@@"
_WORDS = (  # noqa: SIM905 - a sentence reads better than a list of 33 strings
    "hello hi thanks order delivery tomorrow please when price invoice yes no ok "
    "address payment status parcel tracking number question help today store open "
    "closed appointment confirm cancel change size colour return refund"
).split(" ")


@dataclass(frozen=True)
class Routing:
    """The seeded tenant's WABA and phone number; every bench payload goes there."""

    waba_id: str = "109000000000001"
    phone_number_id: str = "209000000000001"
    display: str = "15550001234"


def _text(rng: random.Random) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 30)))


def _customer(rng: random.Random) -> str:
    return f"49151{rng.randint(10_000_000, 99_999_999)}"


# --- Intake -------------------------------------------------------------------------


def _one_change(routing: Routing, rng: random.Random, msg_id: str) -> dict[str, Any]:
    pid = routing.phone_number_id
    if rng.random() < 0.35:
        value = samples.inbound_text(
            phone_number_id=pid, from_=_customer(rng), text=_text(rng), msg_id=msg_id
        )
    else:
        status = rng.choice(("sent", "delivered", "read"))
        value = samples.status(
            phone_number_id=pid, msg_id=msg_id, status=status, recipient=_customer(rng)
        )
    return samples.change("messages", value)


def intake_templates(routing: Routing, *, count: int = 200, seed: int = 1) -> list[bytes]:
    """Bodies with :data:`MARKER` in every message id (replaced per request)."""
    rng = random.Random(seed)
    templates: list[bytes] = []
    for _ in range(count):
        n = 1 if rng.random() < 0.65 else rng.randint(2, 5)
        ids = [f"wamid.BENCH{MARKER}x{i}" for i in range(n)]
        if n == 1 or rng.random() < 0.5:
            # Several entries, one change each (Meta batching under load).
            entries = [(routing.waba_id, [_one_change(routing, rng, m)]) for m in ids]
        else:
            entries = [(routing.waba_id, [_one_change(routing, rng, m) for m in ids])]
        templates.append(samples.dumps(samples.envelope(*entries)))
    return templates


# --- Streams of conversations --------------------------------------------------------


@dataclass
class Delivery:
    """One POST as Meta sends it: its entries, and its body bytes (fixed once built)."""

    entries: list[tuple[str, list[dict[str, Any]]]]
    body: bytes = b""

    def __post_init__(self) -> None:
        if not self.body:
            self.body = samples.dumps(samples.envelope(*self.entries))

    @property
    def change_count(self) -> int:
        return sum(len(changes) for _, changes in self.entries)


@dataclass
class Stream:
    deliveries: list[Delivery]
    events: int = 0
    statuses: int = 0
    inbound: list[str] = field(default_factory=list)
    # the wa_ids the inbound messages come from (a contact and a conversation each)
    customers: set[str] = field(default_factory=set)
    # wamid -> (recipient, final status, error code) of each outbound message
    outbound: dict[str, tuple[str, str, int | None]] = field(default_factory=dict)

    @property
    def changes(self) -> int:
        return sum(d.change_count for d in self.deliveries)

    def expected_outbound_statuses(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for _, final, _ in self.outbound.values():
            counts[final] = counts.get(final, 0) + 1
        return counts


@dataclass(frozen=True)
class Batching:
    """How many events Meta puts in one POST: ``light`` (60% one, else 2-5), ``N``
    (exactly N) or ``A-B`` (uniform between A and B)."""

    name: str = "light"

    def size(self, rng: random.Random) -> int:
        if self.name == "light":
            return 1 if rng.random() < 0.6 else rng.randint(2, 5)
        low, _, high = self.name.partition("-")
        return rng.randint(int(low), int(high or low))

    @classmethod
    def parse(cls, name: str) -> Batching:
        batching = cls(name.strip())
        low, _, high = batching.name.partition("-")
        try:
            batching.size(random.Random(0))
            valid = batching.name == "light" or 1 <= int(low) <= int(high or low)
        except ValueError:
            valid = False
        if not valid:
            raise ValueError(f"not a batching: {name!r} (light, N or A-B, N >= 1)")
        return batching


def conversation_stream(
    routing: Routing,
    *,
    events: int,
    seed: int = 7,
    prefix: str = "E2E",
    lag: int = 40,
    batching: Batching = Batching(),
) -> Stream:
    """About ``events`` events in the order Meta would send them.

    A unit is one outbound message with its statuses (85% sent, delivered, read; 10%
    sent, delivered; 5% sent, failed) and one inbound text: 3.75 events on average.
    The statuses of message ``u`` are spread over the stream (each stage ``lag`` units
    later than the previous one), as they are in time. Deliveries carry one event
    (60%) or 2-5 events: several entries, several changes in one entry, or several
    statuses in one change.
    """
    rng = random.Random(seed)
    pid = routing.phone_number_id
    base_ts = int(time.time()) - 86_400
    timeline: list[tuple[int, int, dict[str, Any], str]] = []  # (slot, order, value, kind)
    stream = Stream(deliveries=[])
    unit = 0
    total = 0
    while total < events:
        wamid = f"wamid.{prefix}{seed:03d}out{unit:09d}"
        recipient = _customer(rng)
        roll = rng.random()
        if roll < 0.85:
            path: list[str] = ["sent", "delivered", "read"]
        elif roll < 0.95:
            path = ["sent", "delivered"]
        else:
            path = ["sent", "failed"]
        error_code = 131026 if path[-1] == "failed" else None
        stream.outbound[wamid] = (recipient, path[-1], error_code)
        for stage, status in enumerate(path):
            value = samples.status(
                phone_number_id=pid,
                msg_id=wamid,
                status=status,
                recipient=recipient,
                ts=base_ts + unit + stage * lag,
                error_code=error_code,
            )
            timeline.append((unit + stage * lag, stage, value, "status"))
        in_id = f"wamid.{prefix}{seed:03d}in{unit:09d}"
        stream.inbound.append(in_id)
        sender = _customer(rng)
        stream.customers.add(sender)
        value = samples.inbound_text(
            phone_number_id=pid,
            from_=sender,
            text=_text(rng),
            msg_id=in_id,
            ts=base_ts + unit,
        )
        timeline.append((unit, 9, value, "inbound"))
        total += len(path) + 1
        stream.statuses += len(path)
        unit += 1
    timeline.sort(key=lambda item: (item[0], item[1]))
    stream.events = total

    i = 0
    while i < len(timeline):
        n = batching.size(rng)
        chunk = [value for _, _, value, _ in timeline[i : i + n]]
        i += n
        shape = rng.random()
        statuses_only = all("statuses" in v for v in chunk)
        if len(chunk) > 1 and statuses_only and shape < 0.2:
            merged = dict(chunk[0], statuses=[s for v in chunk for s in v["statuses"]])
            entries = [(routing.waba_id, [samples.change("messages", merged)])]
        elif len(chunk) > 1 and shape < 0.6:
            entries = [(routing.waba_id, [samples.change("messages", v) for v in chunk])]
        else:
            entries = [(routing.waba_id, [samples.change("messages", v)]) for v in chunk]
        stream.deliveries.append(Delivery(entries))
    return stream


# --- Replay ---------------------------------------------------------------------------


@dataclass
class Chaos:
    bodies: list[bytes]
    identical: int = 0  # copies byte for byte (intake dedup answers them)
    split: int = 0  # POSTs with one change of a delivery
    merged: int = 0  # POSTs with the entries of several deliveries


def chaos_bodies(stream: Stream, *, copies: int = 3, seed: int = 11) -> Chaos:
    """Every delivery ``copies`` times more: identical, split or merged; shuffled."""
    rng = random.Random(seed)
    chaos = Chaos(bodies=[])
    pool: list[tuple[str, list[dict[str, Any]]]] = []
    for delivery in stream.deliveries:
        for _ in range(copies):
            mode = rng.choices(("identical", "split", "merge"), weights=(1, 1, 1))[0]
            if mode == "identical":
                chaos.bodies.append(delivery.body)
                chaos.identical += 1
            elif mode == "split":
                for waba_id, changes in delivery.entries:
                    for change in changes:
                        chaos.bodies.append(Delivery([(waba_id, [change])]).body)
                        chaos.split += 1
            else:
                pool.extend(delivery.entries)
    rng.shuffle(pool)
    while pool:
        n = rng.randint(2, 8)
        group, pool = pool[:n], pool[n:]
        chaos.bodies.append(Delivery(group).body)
        chaos.merged += 1
    rng.shuffle(chaos.bodies)
    return chaos
