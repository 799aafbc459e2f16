"""The Jinja2 environment of the templates that repeat once per item of a long page.

The site's pages are Django templates. A thread's messages and the list's rows are
rendered by Jinja2 (``<app>/jinja2/``), which compiles a template to Python: 40 messages
take about 2 ms where Django's engine took 7-9 ms (``docs/inbox.md``). What they show is
written the Django way so both engines agree:

- output is escaped as Django escapes (the same entities as every other page; a
  ``SafeString`` from Django stays as it is), ``None`` shows nothing;
- ``a.b`` is a key of a dict first, then an attribute, as in Django's engine (so
  ``order.items`` is the order's items, not the dict's method);
- ``{{ _("…") }}`` is Django's ``gettext`` in the active language, and ``makemessages``
  finds it (each ``_("…")`` first in its own ``{{ }}``; ``|format(name=…)`` fills
  ``%(name)s`` as ``{% blocktranslate %}`` does);
- the filters are Django's (``linebreaksbr``, ``truncatechars``) and the inbox's.

Templates are compiled once per process and checked for change only with ``DEBUG``.
"""

from __future__ import annotations

import html
from typing import Any

from django.conf import settings
from django.template import defaultfilters
from django.utils.translation import gettext
from jinja2 import ChainableUndefined, Environment
from markupsafe import Markup

from inbox.templatetags import inbox_tags


def _escaped(value: Any) -> Any:
    """What a ``{{ }}`` shows: nothing for ``None``; what is safe (Django's ``SafeString``,
    ``Markup``) as it is; anything else escaped with Django's entities (``&quot;``,
    ``&#x27;``: Django's ``escape`` is ``html.escape``)."""
    if value is None:
        return ""
    if hasattr(value, "__html__"):
        return value
    return Markup(html.escape(str(value)))  # noqa: S704 - the value escaped first


class _DjangoLookups(Environment):
    """``a.b`` as Django's engine reads it: the key ``b`` of a dict, else the attribute."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        # Jinja2's own order after the dict's keys, written out: this runs for every
        # ``a.b`` of a page (two thousand on a thread's), a call to ``super()`` each time
        # cost a tenth of the templates' time.
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


def environment(**options: Any) -> Environment:
    # As in Django's engine, a missing key or attribute shows nothing (``a.b.c`` too).
    options["undefined"] = ChainableUndefined
    options["auto_reload"] = settings.DEBUG
    env = _DjangoLookups(finalize=_escaped, **options)
    env.globals["_"] = gettext
    env.filters.update(
        linebreaksbr=defaultfilters.linebreaksbr,
        truncatechars=defaultfilters.truncatechars,
        filesize=inbox_tags.filesize,
        media_problem=inbox_tags.media_problem_words,
    )
    return env
