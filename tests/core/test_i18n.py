"""The shipped languages are complete, compiled, and in step with the source."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.test import Client

from tests.factories import World

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]


def po_path(lang: str) -> Path:
    return ROOT / "locale" / lang / "LC_MESSAGES" / "django.po"


@pytest.mark.parametrize("lang", SHIPPED)
def test_po_file_has_no_untranslated_or_fuzzy_entries(lang: str) -> None:
    po = polib.pofile(str(po_path(lang)))
    assert [e.msgid for e in po.untranslated_entries()] == []
    assert [e.msgid for e in po.fuzzy_entries()] == []
    assert len(po.translated_entries()) > 100


PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|%[sdif]|\{\w*\}")


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def test_placeholder_check_sees_a_lost_or_invented_placeholder() -> None:
    assert placeholders("%(name)s has %(count)d, {x} and %s") == {
        "%(name)s",
        "%(count)d",
        "{x}",
        "%s",
    }
    assert placeholders("Hallo %(name)s") != placeholders("Hello %(name)s and %(other)s")


@pytest.mark.parametrize("lang", SHIPPED)
def test_placeholders_survive_translation_exactly(lang: str) -> None:
    """Each translation has exactly the placeholders of its source: none lost, none added."""
    wrong = []
    for entry in polib.pofile(str(po_path(lang))).translated_entries():
        wanted = placeholders(entry.msgid) | placeholders(entry.msgid_plural or "")
        texts = [entry.msgstr] if not entry.msgid_plural else list(entry.msgstr_plural.values())
        for text in texts:
            if text and placeholders(text) != wanted:
                wrong.append((entry.msgid, text))
    assert wrong == []


@pytest.mark.parametrize("lang", SHIPPED)
def test_compiled_mo_matches_po(lang: str) -> None:
    po = polib.pofile(str(po_path(lang)))
    mo = polib.mofile(str(po_path(lang).with_suffix(".mo")))
    compiled = {(e.msgid, e.msgstr or tuple(e.msgstr_plural.values())) for e in mo if e.msgid}
    source = {
        (e.msgid, e.msgstr or tuple(e.msgstr_plural.values())) for e in po.translated_entries()
    }
    assert source <= compiled, "run `make messages` (or compilemessages) and commit the .mo"


def test_every_translatable_string_in_the_source_is_in_the_catalogues(tmp_path: Path) -> None:
    """Extract the strings again (as `make messages` does) and compare with every language."""
    if shutil.which("xgettext") is None:
        if os.environ.get("CI"):
            pytest.fail("GNU gettext is missing; .ci/run installs it")
        pytest.skip("GNU gettext is not installed on this machine")
    for name in ("manage.py", "waba_portal", "accounts", "senders", "templates_app", "inbox"):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, tmp_path / name)
    shutil.copytree(ROOT / "locale", tmp_path / "locale")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(ROOT)}
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "makemessages",
            *[arg for lang in SHIPPED for arg in ("-l", lang)],
            "--no-location",
            "--ignore=waba_portal/mock_meta/*",
            "-v",
            "0",
        ],
        cwd=tmp_path,
        env=env,
        check=True,
    )
    missing, unfound = {}, {}
    for lang in SHIPPED:
        extracted = {
            e.msgid
            for e in polib.pofile(str(tmp_path / f"locale/{lang}/LC_MESSAGES/django.po"))
            if not e.obsolete
        }
        shipped = {e.msgid for e in polib.pofile(str(po_path(lang))) if not e.obsolete}
        if extracted - shipped:
            missing[lang] = sorted(extracted - shipped)
        # A string shipped but no longer found would turn obsolete at the next `make
        # messages`: a source makemessages cannot read (a Jinja2 ``_()`` written where it
        # does not look, inbox/jinja2/) loses its translations.
        if shipped - extracted:
            unfound[lang] = sorted(shipped - extracted)
    assert missing == {}, "new strings: run `make messages` and translate them"
    assert unfound == {}, "strings makemessages no longer finds (unused, or unreadable)"


def test_pages_render_in_german_and_russian(world: World) -> None:
    c = Client()
    c.force_login(world.owner.user)
    c.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"
    page = c.get("/t/acme/settings/members/").content.decode()
    assert "Mitglied einladen" in page and "Einladung senden" in page
    c.cookies[settings.LANGUAGE_COOKIE_NAME] = "ru"
    page = c.get("/t/acme/settings/members/").content.decode()
    assert "Пригласить участника" in page


def test_language_choice_is_kept_on_the_account(world: World) -> None:
    c = Client()
    c.force_login(world.owner.user)
    response = c.post("/language/", {"language": "de", "next": "/t/acme/"})
    assert response.status_code == 302
    world.owner.user.refresh_from_db()
    assert world.owner.user.language == "de"
    # A fresh browser (no cookie) still gets German after logging in.
    fresh = Client()
    fresh.force_login(world.owner.user)
    assert "Übersicht" in fresh.get("/t/acme/").content.decode()


def test_language_switch_refuses_unknown_and_offsite_redirects(db: None) -> None:
    c = Client()
    response = c.post("/language/", {"language": "xx", "next": "https://evil.test/"})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies
