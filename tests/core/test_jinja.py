"""The Jinja2 templates (``waba_portal/jinja.py``) read and escape as Django's engine does."""

from __future__ import annotations

from pathlib import Path

from django.template import engines
from django.utils import translation
from django.utils.safestring import mark_safe


def render(source: str, **context: object) -> str:
    return engines["jinja2"].from_string(source).render(context)


def test_values_are_escaped_with_djangos_entities() -> None:
    shown = render("{{ v }}", v="<img src=x onerror=\"alert('1')\"> & co")
    assert shown == "&lt;img src=x onerror=&quot;alert(&#x27;1&#x27;)&quot;&gt; &amp; co"
    assert engines["django"].from_string("{{ v }}").render({"v": "\"'<&"}) == render(
        "{{ v }}", v="\"'<&"
    )


def test_what_django_made_safe_stays_and_none_shows_nothing() -> None:
    assert render("{{ v }}", v=mark_safe("<b>bold</b>")) == "<b>bold</b>"
    assert render("{{ t|linebreaksbr }}", t="one\n<two>") == "one<br>&lt;two&gt;"
    assert render("[{{ v }}]", v=None) == "[]"


def test_a_dict_key_comes_before_its_method_and_a_missing_one_shows_nothing() -> None:
    order = {"items": [{"product": "sku-1"}, {"product": "sku-2"}]}
    assert render("{% for i in o.items %}{{ i.product }} {% endfor %}", o=order) == "sku-1 sku-2 "
    assert render("[{{ o.missing.deeper }}]{% if o.missing.deeper %}x{% endif %}", o=order) == "[]"


def test_a_translation_fills_its_placeholders_and_escapes_them() -> None:
    source = '{{ _("API key %(name)s")|format(name=n) }}'
    with translation.override("de"):
        shown = render(source, n="<ci>")
    assert shown == "API-Schlüssel &lt;ci&gt;"


def test_every_output_is_escaped_whatever_it_is() -> None:
    """The environment's ``finalize`` is its escaping (Jinja2's autoescaping is off):
    numbers, lazy translations, objects and values worked out in the template alike."""

    class Named:
        def __str__(self) -> str:
            return "<Named & co>"

    assert render("{{ n }}|{{ o }}", n=42, o=Named()) == "42|&lt;Named &amp; co&gt;"
    assert render('{% set u = "a<b" %}{{ u }}|{{ "x" if v else "<y>" }}', v=0) == "a&lt;b|&lt;y&gt;"
    assert render("{{ s|truncatechars(3) }}", s="<<<<") == "&lt;&lt;…"


def test_the_templates_use_nothing_autoescaping_would_change() -> None:
    """With autoescaping off, ``~``, macros, ``|join`` and ``|safe`` would pass a value
    on unescaped, or escape one twice: the inbox's Jinja2 templates use none of them."""
    folder = Path(__file__).resolve().parents[2] / "inbox" / "jinja2"
    found = {
        str(path.relative_to(folder)): construct
        for path in folder.rglob("*.html")
        for construct in ("~", "macro", "caller", "|join", "|safe", "autoescape", "|e ", "|escape")
        if construct in path.read_text()
    }
    assert found == {}
    assert len(list(folder.rglob("*.html"))) >= 10
