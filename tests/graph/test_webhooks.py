"""Webhook toolkit: signatures, the GET handshake, parsing every payload shape."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from waba_portal.graph import webhooks as W
from waba_portal.graph.webhooks import (
    SignatureResult,
    WebhookPayloadError,
    check_signature,
    parse_payload,
    sign_payload,
    status_can_advance,
    status_rank,
    verify_signature,
    verify_subscription,
)

SECRET = "app-secret-for-webhooks"
BODY = b'{"object":"whatsapp_business_account","entry":[]}'


# ---------------------------------------------------------------- signatures


def test_valid_signature_over_raw_bytes() -> None:
    header = sign_payload(BODY, SECRET)
    assert header.startswith("sha256=") and len(header) == 7 + 64
    assert header == header.lower()
    assert verify_signature(BODY, header, SECRET)
    assert check_signature(BODY, header, SECRET) is SignatureResult.VALID
    assert check_signature(BODY, header.upper().replace("SHA256=", "sha256="), SECRET) is (
        SignatureResult.VALID
    )


@pytest.mark.parametrize(
    ("body", "header", "expected"),
    [
        (BODY, None, SignatureResult.MISSING),
        (BODY, "", SignatureResult.MISSING),
        (BODY, "sha1=" + "0" * 40, SignatureResult.BAD_PREFIX),
        (BODY, "0" * 64, SignatureResult.BAD_PREFIX),
        (BODY, "sha256=" + "z" * 64, SignatureResult.MALFORMED),
        (BODY, "sha256=abc", SignatureResult.MALFORMED),
        (BODY, sign_payload(BODY, "wrong-secret"), SignatureResult.MISMATCH),
        (BODY + b" ", sign_payload(BODY, SECRET), SignatureResult.MISMATCH),
        (
            json.dumps(json.loads(BODY)).encode(),
            sign_payload(BODY, SECRET),
            SignatureResult.MISMATCH,
        ),
    ],
)
def test_bad_signatures(body: bytes, header: str | None, expected: SignatureResult) -> None:
    assert check_signature(body, header, SECRET) is expected
    assert verify_signature(body, header, SECRET) is False


def test_empty_secret_fails_closed() -> None:
    with pytest.raises(ValueError):
        check_signature(BODY, sign_payload(BODY, ""), "")


def test_subscription_handshake() -> None:
    assert verify_subscription("subscribe", "vt", "1158201444", "vt") == "1158201444"
    assert verify_subscription("subscribe", "nope", "1158201444", "vt") is None
    assert verify_subscription("unsubscribe", "vt", "1", "vt") is None
    assert verify_subscription("subscribe", None, "1", "vt") is None
    assert verify_subscription("subscribe", "vt", None, "vt") is None
    assert verify_subscription("subscribe", "", "1", "") is None


# ---------------------------------------------------------------- status ranks


def test_status_rank_never_backwards() -> None:
    assert status_rank("sent") < status_rank("delivered") < status_rank("read")
    assert status_rank("failed") > status_rank("read")
    assert status_rank("bogus") == -1
    assert status_can_advance(None, "sent")
    assert status_can_advance("sent", "read")  # delivered may be skipped
    assert not status_can_advance("read", "delivered")
    assert status_can_advance("delivered", "failed")
    assert not status_can_advance("failed", "read")
    assert not status_can_advance("sent", "mystery")
    assert W.is_terminal_status("FAILED")


# ---------------------------------------------------------------- spec examples


def _spec_examples(spec: dict[str, Any]) -> dict[str, Any]:
    post = spec["paths"]["/whatsapp/webhooks"]["post"]
    return post["requestBody"]["content"]["application/json"]["examples"]


def _count_items(payload: dict[str, Any]) -> int:
    n = 0
    for entry in payload["entry"]:
        for change in entry["changes"]:
            value = change["value"]
            if change["field"] == "messages":
                n += len(value.get("messages", [])) + len(value.get("statuses", []))
                n += 1 if value.get("errors") else 0
            else:
                n += 1
    return n


def test_every_spec_example_parses_without_loss(spec: dict[str, Any]) -> None:
    examples = _spec_examples(spec)
    assert len(examples) >= 13
    for name, example in examples.items():
        payload = example["value"]
        raw = json.dumps(payload).encode()
        events = parse_payload(raw)
        assert len(events) == _count_items(payload), name
        for event in events:
            assert event.waba_id == payload["entry"][0]["id"]
            if isinstance(event, W.InboundMessage):
                original = payload["entry"][0]["changes"][0]["value"]
                assert event.raw in original["messages"]
                assert event.phone_number_id == original["metadata"]["phone_number_id"]
                assert event.display_phone_number == original["metadata"]["display_phone_number"]
                assert event.timestamp is not None and event.timestamp.tzinfo is not None
                assert event.is_known_type, name
                assert event.content == event.raw.get(event.type)
            else:
                # group fields are not modelled: kept whole
                assert isinstance(event, W.UnknownChange), name
                assert event.raw == payload["entry"][0]["changes"][0]["value"]


def test_spec_examples_typed_fields(spec: dict[str, Any]) -> None:
    ex = {k: parse_payload(v["value"])[0] for k, v in _spec_examples(spec).items()}
    text = ex["Text Message"]
    assert isinstance(text, W.InboundMessage)
    assert text.text == "Does it come in another color?"
    assert text.contact_name == "Sheena Nelson" and text.contact_wa_id == "16505551234"
    assert text.timestamp == datetime.fromtimestamp(1749416383, tz=UTC)
    product = ex["Text Message with Context (Product Inquiry)"]
    assert product.context is not None  # type: ignore[attr-defined]
    assert product.context.referred_product["product_retailer_id"] == "di9ozbzfi4"  # type: ignore[attr-defined]
    ad = ex["Text Message from Click to WhatsApp Ad"]
    assert ad.referral["source_type"] == "ad"  # type: ignore[attr-defined]
    reaction = ex["Reaction Message"]
    assert reaction.reaction_emoji == "👍"  # type: ignore[attr-defined]
    image = ex["Image Message"]
    assert image.media.id == "1003383421387256" and image.text == "Taj Mahal"  # type: ignore[attr-defined]
    unsupported = ex["Unsupported Message"]
    assert unsupported.errors[0].code == 131051  # type: ignore[attr-defined]
    assert unsupported.errors[0].details == "Message type is currently not supported."  # type: ignore[attr-defined]
    button = ex["Button Message"]
    assert button.button_payload and button.text  # type: ignore[attr-defined]
    lst = ex["Interactive List Reply Message"]
    assert lst.interactive.type == "list_reply" and lst.interactive.id  # type: ignore[attr-defined]
    btn = ex["Interactive Button Reply Message"]
    assert btn.interactive.type == "button_reply" and btn.text  # type: ignore[attr-defined]
    system = ex["System Message"]
    assert system.system.type == "user_changed_number"  # type: ignore[attr-defined]
    assert system.contact_name is None  # type: ignore[attr-defined]
    order = ex["Order Message"]
    assert order.content["product_items"]  # type: ignore[attr-defined]
    location = ex["Location Message"]
    assert location.content["latitude"] == pytest.approx(37.44221496582)  # type: ignore[attr-defined]
    contacts = ex["Contact Sharing Message"]
    assert contacts.content[0]["phones"][0]["wa_id"] == "19835552319"  # type: ignore[attr-defined]


# ---------------------------------------------------------------- other shapes

META = {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"}


def envelope(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"object": "whatsapp_business_account", "entry": list(entries)}


def change(field: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"field": field, "value": value}


def test_statuses_with_pricing_conversation_and_errors() -> None:
    value = {
        "messaging_product": "whatsapp",
        "metadata": META,
        "statuses": [
            {
                "id": "wamid.1",
                "status": "sent",
                "timestamp": "1750000000",
                "recipient_id": "16505551234",
                "biz_opaque_callback_data": "order-17",
                "conversation": {
                    "id": "conv1",
                    "expiration_timestamp": "1750086400",
                    "origin": {"type": "utility"},
                },
                "pricing": {
                    "billable": True,
                    "pricing_model": "PMP",
                    "category": "utility",
                    "type": "regular",
                },
            },
            {
                "id": "wamid.2",
                "status": "failed",
                "timestamp": "1750000001",
                "recipient_id": "16505551234",
                "errors": [
                    {
                        "code": 131026,
                        "title": "Message undeliverable",
                        "message": "Message undeliverable",
                        "error_data": {"details": "Receiver incapable"},
                        "href": "https://developers.facebook.com/docs/",
                    }
                ],
            },
            {"id": "wamid.3", "status": "played", "timestamp": 1750000002},
        ],
    }
    events = parse_payload(envelope({"id": "WABA1", "changes": [change("messages", value)]}))
    sent, failed, played = events
    assert isinstance(sent, W.MessageStatus)
    assert sent.status == "sent" and sent.rank == status_rank("sent")
    assert sent.biz_opaque_callback_data == "order-17"
    assert sent.conversation is not None and sent.conversation.origin_type == "utility"
    assert sent.conversation.expiration_timestamp == datetime.fromtimestamp(1750086400, tz=UTC)
    assert sent.pricing == W.PricingInfo(
        billable=True, pricing_model="PMP", category="utility", type="regular"
    )
    assert sent.phone_number_id == "106540352242922"
    assert isinstance(failed, W.MessageStatus)
    assert failed.errors[0].code == 131026 and failed.errors[0].details == "Receiver incapable"
    assert isinstance(played, W.MessageStatus) and played.recipient_id is None


def test_batched_entries_changes_and_order() -> None:
    msg = {
        "from": "1",
        "id": "wamid.in1",
        "timestamp": "1750000000",
        "type": "text",
        "text": {"body": "a"},
    }
    msg2 = {**msg, "id": "wamid.in2", "text": {"body": "b"}}
    payload = envelope(
        {
            "id": "WABA1",
            "changes": [
                change(
                    "messages",
                    {
                        "messaging_product": "whatsapp",
                        "metadata": META,
                        "contacts": [{"profile": {"name": "A"}, "wa_id": "1"}],
                        "messages": [msg, msg2],
                        "statuses": [{"id": "wamid.o", "status": "read", "timestamp": "1"}],
                    },
                ),
                change(
                    "messages",
                    {
                        "messaging_product": "whatsapp",
                        "metadata": META,
                        "errors": [{"code": 130429, "title": "Rate limit hit"}],
                    },
                ),
            ],
        },
        {
            "id": "WABA2",
            "time": 1750000100,
            "changes": [
                change(
                    "message_template_status_update",
                    {
                        "event": "REJECTED",
                        "message_template_id": 594425479261596,
                        "message_template_name": "summer",
                        "message_template_language": "en_US",
                        "reason": "INVALID_FORMAT",
                        "message_template_category": "MARKETING",
                        "rejection_info": {"reason": "x", "recommendation": "y"},
                    },
                ),
                change("brand_new_field", {"anything": [1, 2]}),
            ],
        },
    )
    events = parse_payload(payload)
    kinds = [type(e).__name__ for e in events]
    assert kinds == [
        "InboundMessage",
        "InboundMessage",
        "MessageStatus",
        "WebhookErrors",
        "TemplateStatusUpdate",
        "UnknownChange",
    ]
    assert [e.waba_id for e in events] == ["WABA1"] * 4 + ["WABA2"] * 2
    assert events[0].text == "a" and events[1].text == "b"  # type: ignore[attr-defined]
    assert events[3].errors[0].code == 130429  # type: ignore[attr-defined]
    tpl = events[4]
    assert isinstance(tpl, W.TemplateStatusUpdate)
    assert tpl.template_id == "594425479261596" and tpl.rejection_info
    assert tpl.timestamp == datetime.fromtimestamp(1750000100, tz=UTC)
    unknown = events[5]
    assert unknown.field == "brand_new_field" and unknown.raw == {"anything": [1, 2]}


def test_account_and_phone_fields() -> None:
    payload = envelope(
        {
            "id": "BUSINESS_PORTFOLIO",
            "time": 1750000000,
            "changes": [
                change(
                    "account_update",
                    {
                        "event": "PARTNER_ADDED",
                        "waba_info": {"waba_id": "WABA9", "owner_business_id": "BIZ1"},
                    },
                ),
                change("account_review_update", {"decision": "APPROVED"}),
                change(
                    "phone_number_quality_update",
                    {
                        "display_phone_number": "15550783881",
                        "event": "UPGRADE",
                        "old_limit": "TIER_250",
                        "current_limit": "TIER_2K",
                        "max_daily_conversations_per_business": "TIER_2K",
                    },
                ),
                change(
                    "phone_number_name_update",
                    {
                        "display_phone_number": "15550783881",
                        "decision": "REJECTED",
                        "requested_verified_name": "Acme",
                        "rejection_reason": None,
                    },
                ),
                change(
                    "template_category_update",
                    {
                        "message_template_id": 1,
                        "message_template_name": "t",
                        "message_template_language": "en_US",
                        "previous_category": "UTILITY",
                        "new_category": "MARKETING",
                    },
                ),
                change(
                    "message_template_quality_update",
                    {
                        "previous_quality_score": "GREEN",
                        "new_quality_score": "YELLOW",
                        "message_template_id": 2,
                    },
                ),
                change(
                    "business_capability_update",
                    {"max_phone_numbers_per_business": 20, "max_phone_numbers_per_waba": 25},
                ),
                change(
                    "account_update",
                    {
                        "event": "ACCOUNT_RESTRICTION",
                        "restriction_info": [
                            {
                                "restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING",
                                "expiration": 1750600000,
                            }
                        ],
                    },
                ),
            ],
        }
    )
    acc, review, quality, name, cat, qual, cap, restr = parse_payload(payload)
    assert isinstance(acc, W.AccountUpdate)
    assert acc.event == "PARTNER_ADDED" and acc.waba_id == "WABA9"
    assert acc.entry_id == "BUSINESS_PORTFOLIO" and acc.owner_business_id == "BIZ1"
    assert isinstance(review, W.AccountReviewUpdate) and review.decision == "APPROVED"
    assert isinstance(quality, W.PhoneNumberQualityUpdate)
    assert quality.current_limit == "TIER_2K" and quality.display_phone_number == "15550783881"
    assert isinstance(name, W.PhoneNumberNameUpdate) and name.rejection_reason is None
    assert isinstance(cat, W.TemplateCategoryUpdate) and cat.new_category == "MARKETING"
    assert isinstance(qual, W.TemplateQualityUpdate) and qual.new_quality_score == "YELLOW"
    assert isinstance(cap, W.BusinessCapabilityUpdate) and cap.max_phone_numbers_per_waba == 25
    assert isinstance(restr, W.AccountUpdate) and restr.waba_id == "BUSINESS_PORTFOLIO"
    assert restr.restriction_info[0]["restriction_type"].startswith("RESTRICTED")


def test_inbound_types_beyond_the_spec_examples() -> None:
    base = {"from": "1", "timestamp": "1750000000"}
    messages = [
        {
            **base,
            "id": "a",
            "type": "audio",
            "audio": {"id": "m1", "mime_type": "audio/ogg", "voice": True},
        },
        {**base, "id": "v", "type": "video", "video": {"id": "m2", "caption": "clip"}},
        {**base, "id": "d", "type": "document", "document": {"id": "m3", "filename": "x.pdf"}},
        {**base, "id": "s", "type": "sticker", "sticker": {"id": "m4", "animated": False}},
        {
            **base,
            "id": "n",
            "type": "interactive",
            "interactive": {
                "type": "nfm_reply",
                "nfm_reply": {
                    "name": "flow",
                    "body": "Sent",
                    "response_json": '{"flow_token":"t"}',
                },
            },
        },
        {**base, "id": "p", "type": "poll_vote", "poll_vote": {"option": 2}},
        {
            **base,
            "id": "f",
            "type": "text",
            "text": {"body": "fwd"},
            "context": {"forwarded": True},
        },
    ]
    value = {
        "messaging_product": "whatsapp",
        "metadata": META,
        "contacts": [{"profile": {"name": "X"}, "wa_id": "1"}],
        "messages": messages,
    }
    audio, video, doc, sticker, nfm, poll, fwd = parse_payload(
        envelope({"id": "W", "changes": [change("messages", value)]})
    )
    assert audio.media.voice is True  # type: ignore[attr-defined]
    assert video.text == "clip"  # type: ignore[attr-defined]
    assert doc.media.filename == "x.pdf"  # type: ignore[attr-defined]
    assert sticker.media.animated is False  # type: ignore[attr-defined]
    assert nfm.interactive.response == {"flow_token": "t"}  # type: ignore[attr-defined]
    assert poll.is_known_type is False and poll.content == {"option": 2}  # type: ignore[attr-defined]
    assert poll.raw["type"] == "poll_vote"
    assert fwd.context.forwarded is True  # type: ignore[attr-defined]


def _valid() -> dict[str, Any]:
    return envelope(
        {
            "id": "W",
            "changes": [
                change(
                    "messages",
                    {
                        "messaging_product": "whatsapp",
                        "metadata": META,
                        "messages": [
                            {
                                "from": "1",
                                "id": "x",
                                "timestamp": "1",
                                "type": "text",
                                "text": {"body": "b"},
                            }
                        ],
                    },
                )
            ],
        }
    )


def _break(path: str, value: Any) -> dict[str, Any]:
    data = _valid()
    target: Any = data
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if key.isdigit() else target[key]
    last = keys[-1]
    if value is KeyError:
        del target[last]
    else:
        target[int(last) if last.isdigit() else last] = value
    return data


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"[]",
        {"entry": []},
        {"object": "page", "entry": []},
        {"object": "whatsapp_business_account"},
        {"object": "whatsapp_business_account", "entry": {"id": "x"}},
        {"object": "whatsapp_business_account", "entry": ["x"]},
        "entry.0.id",
        "entry.0.changes",
        "entry.0.changes.0.field",
        "entry.0.changes.0.value.metadata",
        "entry.0.changes.0.value.messages.0.id",
        "entry.0.changes.0.value.messages.0.from",
        "entry.0.changes.0.value.messages.0.timestamp",
    ],
)
def test_malformed_payloads(payload: Any) -> None:
    if isinstance(payload, str):
        payload = _break(payload, KeyError)
    with pytest.raises(WebhookPayloadError):
        parse_payload(payload)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("entry.0.changes.0.value", "string"),
        ("entry.0.changes.0.value.messages", {"not": "a list"}),
        ("entry.0.changes.0.value.messages.0.timestamp", "yesterday"),
        ("entry.0.changes.0.value.messages.0", 5),
        ("entry.0.time", "soon"),
    ],
)
def test_malformed_values(path: str, value: Any) -> None:
    with pytest.raises(WebhookPayloadError) as info:
        parse_payload(_break(path, value))
    assert "entry[0]" in str(info.value)


def test_valid_baseline_and_raw_is_not_copied() -> None:
    data = _valid()
    snapshot = copy.deepcopy(data)
    (event,) = parse_payload(data)
    assert data == snapshot
    assert event.raw is data["entry"][0]["changes"][0]["value"]["messages"][0]


# ---------------------------------------------------------------- business-scoped user ids

BSUID = "US.13491208655302741918"


def _inbound(contacts: list[dict[str, Any]], message: dict[str, Any]) -> dict[str, Any]:
    value = {
        "messaging_product": "whatsapp",
        "metadata": META,
        "contacts": contacts,
        "messages": [message],
    }
    return envelope({"id": "W", "changes": [change("messages", value)]})


def test_contacts_with_and_without_business_scoped_user_ids() -> None:
    text = {"id": "wamid.1", "timestamp": "1750000000", "type": "text", "text": {"body": "hi"}}
    older = _inbound(
        [{"profile": {"name": "Sheena"}, "wa_id": "16505551234"}], {**text, "from": "16505551234"}
    )
    newer = _inbound(
        [
            {
                "profile": {"name": "Sheena", "username": "sheena.nelson"},
                "wa_id": "16505551234",
                "user_id": BSUID,
                "parent_user_id": "US.ENT.11815799212886844830",
                "identity_key_hash": "a1b2c3",
            }
        ],
        {**text, "from": "16505551234"},
    )
    private = _inbound(  # a user with a username who keeps the number from businesses
        [{"profile": {"name": "Sheena", "username": "sheena.nelson"}, "user_id": BSUID}], text
    )
    (old,) = parse_payload(older)
    (new,) = parse_payload(newer)
    (hidden,) = parse_payload(private)
    assert isinstance(old, W.InboundMessage) and old.user_id is None
    assert old.contact == W.WebhookContact(wa_id="16505551234", name="Sheena", raw=old.contact.raw)  # type: ignore[union-attr]
    assert isinstance(new, W.InboundMessage) and new.user_id == BSUID
    assert new.contact is not None
    assert (new.contact.username, new.contact.parent_user_id, new.contact.identity_key_hash) == (
        "sheena.nelson",
        "US.ENT.11815799212886844830",
        "a1b2c3",
    )
    assert (new.from_, new.contact_wa_id, new.contact_name) == (
        "16505551234",
        "16505551234",
        "Sheena",
    )
    assert isinstance(hidden, W.InboundMessage)
    assert (hidden.from_, hidden.contact_wa_id, hidden.user_id) == (None, None, BSUID)
    assert hidden.text == "hi" and hidden.contact_name == "Sheena"


def test_a_message_needs_a_number_or_a_business_scoped_user_id() -> None:
    text = {"id": "wamid.1", "timestamp": "1750000000", "type": "text", "text": {"body": "hi"}}
    with pytest.raises(WebhookPayloadError, match="from"):
        parse_payload(_inbound([{"profile": {"name": "Sheena"}}], text))


def test_statuses_carry_their_recipients_contacts() -> None:
    def status(wamid: str, to: str) -> dict[str, Any]:
        return {"id": wamid, "status": "delivered", "timestamp": "1750000000", "recipient_id": to}

    value = {
        "messaging_product": "whatsapp",
        "metadata": META,
        "contacts": [
            {"profile": {"name": "A", "username": "a"}, "wa_id": "111", "user_id": "US.1"},
            {"wa_id": "222", "user_id": "DE.2"},
        ],
        "statuses": [status("wamid.a", "222"), status("wamid.b", "111")],
    }
    with_contacts = parse_payload(envelope({"id": "W", "changes": [change("messages", value)]}))
    assert [(s.message_id, s.user_id) for s in with_contacts] == [  # type: ignore[attr-defined]
        ("wamid.a", "DE.2"),
        ("wamid.b", "US.1"),
    ]
    b = with_contacts[1]
    assert isinstance(b, W.MessageStatus) and b.contact is not None and b.contact.username == "a"
    without = {k: v for k, v in value.items() if k != "contacts"}
    (a, _) = parse_payload(envelope({"id": "W", "changes": [change("messages", without)]}))
    assert isinstance(a, W.MessageStatus) and a.contact is None and a.user_id is None
    assert a.recipient_id == "222"


def test_user_changed_number_names_the_new_user_id() -> None:
    system = {
        "from": "16505551234",
        "id": "wamid.s",
        "timestamp": "1750000000",
        "type": "system",
        "system": {
            "body": "User A changed from 16505551234 to 16505559999",
            "wa_id": "16505559999",
            "type": "user_changed_number",
            "user_id": "US.99",
            "parent_user_id": "US.ENT.98",
        },
    }
    value = {"messaging_product": "whatsapp", "metadata": META, "messages": [system]}
    (event,) = parse_payload(envelope({"id": "W", "changes": [change("messages", value)]}))
    assert isinstance(event, W.InboundMessage) and event.system is not None
    assert (event.system.new_wa_id, event.system.new_user_id, event.system.new_parent_user_id) == (
        "16505559999",
        "US.99",
        "US.ENT.98",
    )
    assert event.from_ == "16505551234" and event.contact is None


def test_account_update_names_its_phone_number() -> None:
    value = {"event": "ACCOUNT_VIOLATION", "phone_number": "15550100001"}
    (event,) = parse_payload(envelope({"id": "W", "changes": [change("account_update", value)]}))
    assert isinstance(event, W.AccountUpdate) and event.phone_number == "15550100001"
