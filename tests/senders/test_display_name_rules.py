"""Meta's display-name rules we check before Meta is asked: refusals and warnings."""

from __future__ import annotations

import pytest

from senders.services.display_name_rules import (
    DISPLAY_NAME_MAX_LENGTH,
    display_name_problems,
    display_name_relates,
    display_name_warnings,
)


@pytest.mark.parametrize(
    ("name", "business"),
    [
        ("Fresh Produce", "Fresh Produce Ltd"),
        ("Fresh Produce Boston", "Fresh Produce Ltd"),
        ("Fresh Produce Customer Service", "Fresh Produce Ltd"),
        ("FP Cold Pressed Juices", "Fresh Produce"),
        ("Fresh Produce by Global Grocers Inc.", "Global Grocers Inc."),
        ("Booking.com", "Booking.com B.V."),
        ("IKEA", "Inter IKEA Systems B.V."),
        ("The Coffee Shop", "The Coffee Shop"),
        ("Müller GmbH & Co. KG", "Müller GmbH & Co. KG"),
        ("Ромашка Доставка", "ООО Ромашка"),
        ("Meta Consulting", "Meta Consulting GmbH"),
        ("Acme Metalworks", "Acme"),
        ("St. Pauli Fanshop", "FC St. Pauli"),
        ("Fresh Produce Test", "Fresh Produce"),
        ("7-Eleven", "7-Eleven, Inc."),
    ],
)
def test_names_meta_accepts_pass_without_a_word(name: str, business: str) -> None:
    assert display_name_problems(name, business_name=business) == []
    assert display_name_warnings(name, business_name=business) == []


@pytest.mark.parametrize(
    ("name", "fix"),
    [
        ("", "Enter a display name"),
        ("   ", "Enter a display name"),
        ("KT", "at least 3 characters"),
        ("F" + "resh produce" * 7, "at most 75 characters (it has 85)"),
        ("Fresh\nProduce", "line breaks"),
        ("12345", "Use letters"),
        ("freshproduce.com", "“freshproduce.com”"),
        ("Fresh Produce www.fresh.example", "“www.fresh.example”"),
        ("https://fresh.example", "“https://fresh.example”"),
        ("hello@freshproduce.de", "e-mail address"),
        ("Fresh Produce 🍎", "emoji"),
        ("Fresh Produce WhatsApp", "Remove “WhatsApp”"),
        ("Fresh Produce on Facebook", "Remove “Facebook”"),
        ("Fresh Produce - Meta", "Remove “Meta”"),
        ("Fresh Produce Official", "Remove “Official”"),
        ("Verified Fresh Produce", "Remove “Verified”"),
        ("Customer Service", "generic words only"),
        ("Fashion", "generic words only"),
        ("Online Shop 24", "generic words only"),
        ("Магазин", "generic words only"),
        ("Kundenservice", "generic words only"),
    ],
)
def test_what_meta_surely_refuses_is_refused_with_the_fix(name: str, fix: str) -> None:
    problems = display_name_problems(name, business_name="Fresh Produce")
    assert problems, name
    assert any(fix in p for p in problems), problems


def test_the_longest_name_meta_takes_passes() -> None:
    name = "Fresh Produce " + "x" * (DISPLAY_NAME_MAX_LENGTH - len("Fresh Produce "))
    assert len(name) == DISPLAY_NAME_MAX_LENGTH
    assert display_name_problems(name, business_name="Fresh Produce") == []
    assert display_name_problems(name + "y", business_name="Fresh Produce") != []


def test_the_generic_refusal_suggests_the_business_name() -> None:
    (problem,) = display_name_problems("Customer Service", business_name="Fresh Produce Ltd")
    assert "“Fresh Produce Customer Service”" in problem


@pytest.mark.parametrize(
    ("name", "fix"),
    [
        ("FRESH PRODUCE", "Write “FRESH” in normal capitals (Fresh)"),
        ("fresh produce", "Capitalise the name"),
        ("Fresh Produce!!", "extra punctuation (!!)"),
        ("Fresh * Produce", "extra punctuation (*)"),
        ("Fresh Produce™", "symbols ™"),
        ("Fresh  Produce", "single spaces"),
        ("Fresh Produce – 20% Off", "advertising (“%”)"),
        ("Fresh Produce Sale", "advertising (“Sale”)"),
        ("Digital Cloud Solutions", "consider “Digital Cloud Solutions by Fresh Produce”"),
    ],
)
def test_what_meta_usually_refuses_is_a_warning_not_a_refusal(name: str, fix: str) -> None:
    assert display_name_problems(name, business_name="Fresh Produce Ltd") == []
    warnings = display_name_warnings(name, business_name="Fresh Produce Ltd")
    assert any(fix in w for w in warnings), warnings


def test_the_business_own_branding_is_not_held_against_the_name() -> None:
    # Meta waives the formatting rules where the business brands itself so.
    assert display_name_warnings("FRESH!! Produce", business_name="FRESH!! Produce") == []
    assert display_name_warnings("Fresh Produce®", business_name="Fresh Produce®") == []
    assert display_name_problems("Official Coffee Co", business_name="Official Coffee Co") == []


@pytest.mark.parametrize(
    ("name", "business", "relates"),
    [
        ("Fresh Produce Juices", "Fresh Produce Ltd", True),
        ("FP Juices", "Fresh Produce", True),
        ("FreshProduce", "Fresh Produce", True),
        ("Digital Cloud Solutions", "Fresh Produce", False),
        ("Anything", "", True),
        ("Coffee House", "The Coffee Shop", True),
        ("Tea Room", "The Coffee Shop", False),
    ],
)
def test_relation_to_the_business_name(name: str, business: str, relates: bool) -> None:
    assert display_name_relates(name, business_name=business) is relates
