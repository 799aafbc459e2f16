"""Which numbers may become WhatsApp business numbers (senders/services/number_rules.py).

The examples are libphonenumber's own (``example_number_for_type``): real numbers of
each type in each country, so the matrix follows the numbering plans as they change.
"""

from __future__ import annotations

import phonenumbers
import pytest
from django.utils import translation
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from senders.services import number_rules
from waba_portal.errors import Invalid

# Twenty countries on every continent, with their numbering plans' quirks: the NANP's
# fixed-or-mobile numbers (US, CA), trunk prefixes (DE, GB, RU), 11-digit mobiles (BR).
COUNTRIES = (
    "US", "CA", "MX", "BR", "AR", "GB", "DE", "FR", "ES", "IT", "NL", "CH", "RU", "TR",
    "IN", "ID", "JP", "AU", "ZA", "NG", "AE", "SG",
)  # fmt: skip
ACCEPTED = {
    PhoneNumberType.FIXED_LINE: ("fixed_line", "fixed_line_or_mobile"),
    PhoneNumberType.MOBILE: ("mobile", "fixed_line_or_mobile"),
    PhoneNumberType.TOLL_FREE: ("toll_free",),
    PhoneNumberType.VOIP: ("voip",),
}
REFUSED = {
    PhoneNumberType.PREMIUM_RATE: ("number_premium_rate", "premium-rate"),
    PhoneNumberType.SHARED_COST: ("number_shared_cost", "shared-cost"),
    PhoneNumberType.PERSONAL_NUMBER: ("number_personal_number", "personal number"),
    PhoneNumberType.PAGER: ("number_pager", "pager"),
    PhoneNumberType.UAN: ("number_uan", "universal access number"),
    PhoneNumberType.VOICEMAIL: ("number_voicemail", "voicemail"),
}
# Where libphonenumber has examples of the refused types.
REFUSED_REGIONS = (*COUNTRIES, "AT", "BE", "PL", "SE", "NO", "FI", "PT", "CN", "HK", "KR")


def examples(regions: tuple[str, ...], kind: int) -> list[tuple[str, phonenumbers.PhoneNumber]]:
    found = []
    for region in regions:
        example = phonenumbers.example_number_for_type(region, kind)
        if example is not None:
            found.append((region, example))
    return found


ACCEPTED_CASES = [
    pytest.param(region, kind, example, id=f"{region}-{names[0]}")
    for kind, names in ACCEPTED.items()
    for region, example in examples(COUNTRIES, kind)
]
REFUSED_CASES = [
    pytest.param(region, kind, example, id=f"{region}-{REFUSED[kind][0]}")
    for kind in REFUSED
    for region, example in examples(REFUSED_REGIONS, kind)
]


def test_the_matrix_covers_every_country_and_type() -> None:
    regions = {case.values[0] for case in ACCEPTED_CASES}
    assert len(regions) >= 15 and regions == set(COUNTRIES)
    for region in COUNTRIES:  # a landline and a mobile everywhere
        kinds = {case.values[1] for case in ACCEPTED_CASES if case.values[0] == region}
        assert {PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE} <= kinds, region
    assert {case.values[1] for case in ACCEPTED_CASES} == set(ACCEPTED)
    assert {case.values[1] for case in REFUSED_CASES} == set(REFUSED)


@pytest.mark.parametrize(("region", "kind", "example"), ACCEPTED_CASES)
def test_accepted_types_are_stored_as_e164(
    region: str, kind: int, example: phonenumbers.PhoneNumber
) -> None:
    national = phonenumbers.format_number(example, PhoneNumberFormat.NATIONAL)
    international = phonenumbers.format_number(example, PhoneNumberFormat.INTERNATIONAL)
    e164 = phonenumbers.format_number(example, PhoneNumberFormat.E164)
    for typed in (national, international, e164):
        checked = number_rules.number_check(region=region, number=typed)
        assert checked.e164 == e164
        assert checked.region == region
        assert checked.international == international
        assert checked.number_type in ACCEPTED[kind]
        assert str(checked.country_code) + checked.national_number == e164[1:]
        assert bool(checked.note) == (kind == PhoneNumberType.VOIP)
    assert number_rules.international_format(e164) == international


def test_voip_is_accepted_with_the_note_that_it_must_receive_sms_or_calls() -> None:
    example = phonenumbers.example_number_for_type("GB", PhoneNumberType.VOIP)
    assert example is not None
    checked = number_rules.number_check(
        region="GB", number=phonenumbers.format_number(example, PhoneNumberFormat.NATIONAL)
    )
    assert checked.number_type == "voip"
    assert "SMS or voice calls" in checked.note and "6-digit code" in checked.note


@pytest.mark.parametrize(("region", "kind", "example"), REFUSED_CASES)
def test_refused_types_each_say_why_and_what_instead(
    region: str, kind: int, example: phonenumbers.PhoneNumber
) -> None:
    code, words = REFUSED[kind]
    typed = phonenumbers.format_number(example, PhoneNumberFormat.NATIONAL)
    with pytest.raises(Invalid) as refused:
        number_rules.number_check(region=region, number=typed)
    assert (refused.value.code, refused.value.field) == (code, "number")
    assert words in refused.value.message
    assert "Use a landline, mobile or toll-free number" in refused.value.message


def test_every_refusal_has_its_own_message() -> None:
    messages = {}
    for kind in REFUSED:
        region, example = examples(REFUSED_REGIONS, kind)[0]
        with pytest.raises(Invalid) as refused:
            number_rules.number_check(
                region=region, number=phonenumbers.format_number(example, PhoneNumberFormat.E164)
            )
        messages[kind] = refused.value.message
    assert len(set(messages.values())) == len(REFUSED)


@pytest.mark.parametrize(
    ("region", "typed"), [("US", "33669"), ("US", "911"), ("DE", "112"), ("FR", "3631")]
)
def test_short_codes_are_refused(region: str, typed: str) -> None:
    with pytest.raises(Invalid) as refused:
        number_rules.number_check(region=region, number=typed)
    assert refused.value.code == "number_short_code"
    assert "short code" in refused.value.message
    assert "landline, mobile or toll-free" in refused.value.message


@pytest.mark.parametrize(
    ("region", "typed", "code", "words"),
    [
        ("US", "12345", "number_invalid", "too short"),
        ("US", "201 555 01234", "number_invalid", "too long"),
        ("DE", "3012", "number_invalid", "not a valid number"),
        ("DE", "abc", "number_invalid", "not a phone number"),
        ("DE", "+999 1234567", "number_invalid", "calling code"),
        ("DE", "1" * 41, "number_invalid", "too long"),
        ("DE", "+44 20 7946 0958", "number_other_country", "United Kingdom"),
        ("US", "+1 416 555 0100", "number_other_country", "Canada"),
        ("DE", "+800 1234 5678", "number_other_country", "no country of its own"),
        ("DE", "", "number_missing", "Enter the phone number"),
    ],
)
def test_invalid_numbers_are_refused_with_the_reason(
    region: str, typed: str, code: str, words: str
) -> None:
    with pytest.raises(Invalid) as refused:
        number_rules.number_check(region=region, number=typed)
    assert refused.value.code == code
    assert words in refused.value.message
    assert refused.value.field == "number"


def test_the_area_code_is_needed() -> None:
    # A US number without its area code is "possible locally" only.
    with pytest.raises(Invalid) as refused:
        number_rules.number_check(region="US", number="555 0123")
    assert "area code" in refused.value.message


@pytest.mark.parametrize("region", ["", "XX", "de!", "ZZ"])
def test_the_country_must_be_one_of_the_list(region: str) -> None:
    with pytest.raises(Invalid) as refused:
        number_rules.number_check(region=region, number="+4930123456")
    assert (refused.value.field, refused.value.code) == ("country", "country")


def test_the_country_may_be_lower_case_and_the_number_dialled_from_abroad() -> None:
    checked = number_rules.number_check(region="de", number="0049 30 123456")
    assert (checked.e164, checked.region, checked.number_type) == (
        "+4930123456",
        "DE",
        "fixed_line",
    )


def test_country_names_are_in_the_users_language_with_calling_codes() -> None:
    with translation.override("en"):
        english = dict(number_rules.region_choices())
    with translation.override("de"):
        german = number_rules.region_choices()
    with translation.override("ru"):
        russian = dict(number_rules.region_choices())
    assert set(english) == set(phonenumbers.SUPPORTED_REGIONS)
    assert english["DE"] == "Germany (+49)" and dict(german)["DE"] == "Deutschland (+49)"
    assert russian["DE"] == "Германия (+49)"
    assert english["XK"].startswith("Kosovo") and english["AC"].endswith("(+247)")
    # Sorted by the name as read, accents folded: Ägypten among the A's in German.
    names = [label for _, label in german]
    assert names.index("Ägypten (+20)") < names.index("Belgien (+32)")
    with translation.override("de"):
        assert number_rules.region_name("GB") == "Vereinigtes Königreich"
