"""The Jinja2 environment of the inbox's pages.

The site's pages are Django templates. The inbox's list, thread and side panel, which
agents load and poll all day, are rendered by Jinja2 (``<app>/jinja2/``, placed in the
Django page by ``{% jinja %}``), which compiles a template to Python: 40 messages take
about 2 ms where Django's engine took 7-9 ms; a thread's whole page renders in 8 ms
where it took 12 (``docs/inbox.md``). What they show is written the Django way so both
engines agree:

- output is escaped as Django escapes (the same entities as every other page; a
  ``SafeString`` from Django stays as it is), ``None`` shows nothing;
- ``a.b`` is a key of a dict first, then an attribute, as in Django's engine (so
  ``order.items`` is the order's items, not the dict's method);
- ``{{ _("…") }}`` is Django's ``gettext`` in the active language, and ``makemessages``
  finds it (each ``_("…")`` first in its own ``{{ }}``; ``|format(name=…)`` fills
  ``%(name)s`` as ``{% blocktranslate %}`` does);
- the filters are Django's (``linebreaksbr``, ``truncatechars``, ``urlencode`` is
  Jinja2's, which quotes alike) and the site's (``when``, ``phone_international``, …);
- ``url(name, **kwargs)`` is ``{% url %}``; ``{{ csrf_input }}`` is ``{% csrf_token %}``;
  ``django_include(name, **context)`` places a Django template (a form field as every
  other page draws it); a method is called with ``()``, as Jinja2 does not on its own.

Templates are compiled once per process and checked for change only with ``DEBUG``.
"""

from __future__ import annotations

import html
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.template import defaultfilters
from django.template.backends.utils import csrf_input
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext
from jinja2 import ChainableUndefined, Environment

from accounts.templatetags.portal_dates import when
from inbox.templatetags import inbox_tags
from templates_app.templatetags.templates_labels import language_name


def _escaped(value: Any) -> str:
    """What a ``{{ }}`` shows: nothing for ``None``; what is safe (Django's ``SafeString``,
    ``Markup``) as it is; anything else escaped with Django's entities (``&quot;``,
    ``&#x27;``: Django's ``escape`` is ``html.escape``).

    This is the templates' escaping: every ``{{ }}`` goes through it. Jinja2's own
    autoescaping is off, as it would only wrap each answer in ``Markup`` again (turning
    it off took a thread page's Jinja2 rendering from 7.1 to 4.4 ms); the templates
    use nothing that autoescaping changes besides ``{{ }}`` (no macros, ``~``,
    ``|join`` or ``|safe``), which ``tests/core/test_jinja.py`` checks."""
    if value is None:
        return ""
    if type(value) is str:
        return html.escape(value)
    if hasattr(value, "__html__"):
        return str(value.__html__())
    return html.escape(str(value))


class _DjangoLookups(Environment):
    """``a.b`` as Django's engine reads it: the key ``b`` of a dict, else the attribute."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        # Jinja2's own order after the dict's keys, written out rather than through
        # ``super()``: this runs for every ``a.b`` of a page (two thousand on a thread's).
        if isinstance(obj, dict):
            try:
                return obj[attribute]
            except KeyError:
                pass
        try:
            return getattr(obj, attribute)
        except AttributeError:
            pass
        try:
            return obj[attribute]
        except (AttributeError, LookupError, TypeError):
            return self.undefined(obj=obj, name=attribute)


def csrf_field(request: HttpRequest) -> dict[str, Any]:
    """A context processor of the Jinja2 templates: ``{{ csrf_input }}`` worked out once
    for the page (Django's backend masks the token again at each use; the inbox's thread
    page has six forms)."""
    return {"csrf_input": csrf_input(request)}


def _url(viewname: str, **kwargs: Any) -> str:
    return reverse(viewname, kwargs=kwargs)


def _django_include(name: str, **context: Any) -> SafeString:
    html = render_to_string(name, context, using="django")
    return mark_safe(html)  # noqa: S308 - Django's engine escaped every value


def environment(**options: Any) -> Environment:
    # As in Django's engine, a missing key or attribute shows nothing (``a.b.c`` too).
    options["undefined"] = ChainableUndefined
    options["auto_reload"] = settings.DEBUG
    options["autoescape"] = False  # ``_escaped`` escapes every ``{{ }}``
    env = _DjangoLookups(finalize=_escaped, **options)
    env.globals.update(_=gettext, url=_url, django_include=_django_include)
    env.filters.update(
        linebreaksbr=defaultfilters.linebreaksbr,
        truncatechars=defaultfilters.truncatechars,
        filesize=inbox_tags.filesize,
        media_problem=inbox_tags.media_problem_words,
        phone_international=inbox_tags.phone_international,
        when=when,
        language_name=language_name,
    )
    return env
