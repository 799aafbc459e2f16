"""Templates: the list with its filters, one template, deleting, and "Sync now".

Views call services without ``try``: a refusal is answered by
``waba_portal.middleware.ServiceErrorMiddleware`` (403, 404, or its message on the page
the user came from). The editor is T2's (``views_editor``, URL names ``create`` and
``edit``).
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Membership
from accounts.permissions import require_manager, tenant_view
from senders import troubleshooting as ts
from templates_app import selectors
from templates_app import troubleshooting as tts
from templates_app.forms import TemplateFilterForm
from templates_app.models import Submission, SyncState, Template, TemplateSync
from templates_app.services import lifecycle
from templates_app.services import sync as template_sync
from waba_portal.guards import parse_id
from waba_portal.middleware import refusals_return_to

# How long "Sync now" shows its progress in place before it says to reload instead.
SYNC_POLL_SECONDS = 120
IN_FLIGHT = (Submission.CREATING, Submission.EDITING, Submission.DELETING)


def _membership(request: HttpRequest) -> Membership:
    return request.membership  # type: ignore[attr-defined,no-any-return]


def _slug(request: HttpRequest) -> str:
    return request.tenant.slug  # type: ignore[attr-defined,no-any-return]


def _htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _list_url(request: HttpRequest) -> str:
    return reverse("templates_app:list", kwargs={"tenant_slug": _slug(request)})


def template_problem(template: Template) -> tuple[str, str]:
    """(troubleshooting key, Meta's words) of what the template's row should show."""
    if template.submission == Submission.FAILED and template.problem:
        return template.problem, template.problem_detail
    key = tts.problem_for_status(template.status, template.rejected_reason)
    words = " ".join(
        str(info.get(k))
        for info in (template.status_detail or {}).values()
        if isinstance(info, dict)
        # ``other_info.title`` is a code (FIRST_PAUSE): its description says it in words.
        for k in ("reason", "recommendation", "description")
        if info.get(k)
    )
    return key, words


def _rows(templates: list[Template], slug: str) -> list[dict[str, Any]]:
    rows = []
    for t in templates:
        key, words = template_problem(t)
        rows.append(
            {
                "template": t,
                "problem": ts.get(key) if key else None,
                "problem_url": ts.get(key).url(slug) if key else "",
                "meta_words": words,
                "in_flight": t.submission in IN_FLIGHT,
            }
        )
    return rows


def _groups(templates: list[Template], slug: str) -> list[dict[str, Any]]:
    """The rows grouped by WABA, in the list's order."""
    groups: list[dict[str, Any]] = []
    for row in _rows(templates, slug):
        waba = row["template"].waba
        if not groups or groups[-1]["waba"].pk != waba.pk:
            groups.append({"waba": waba, "rows": []})
        groups[-1]["rows"].append(row)
    return groups


@tenant_view()
@require_GET
def template_list(request: HttpRequest) -> HttpResponse:
    form = TemplateFilterForm(request.GET or None)
    if form.is_bound:
        form.is_valid()
    templates = list(selectors.template_list(filters=form.filters()))
    context = {
        "form": form,
        "groups": _groups(templates, _slug(request)),
        "count": len(templates),
        "filtered": form.is_bound and form.is_filtered,
        "any_template": bool(templates) or selectors.live_templates().exists(),
        "any_waba": bool(form.wabas),
        "sync": _sync_context(request, since=None),
        "in_flight": any(t.submission in IN_FLIGHT for t in templates),
    }
    if _htmx(request) and request.headers.get("HX-Target") == "template-results":
        return render(request, "templates_app/_results.html", context)
    return render(request, "templates_app/list.html", context)


@tenant_view()
@require_GET
def template_detail(request: HttpRequest, template_pk: int) -> HttpResponse:
    template = selectors.template_access(template_pk=template_pk)
    slug = _slug(request)
    key, words = template_problem(template)
    allowance = selectors.approved_edit_allowance(template=template)
    return render(
        request,
        "templates_app/detail.html",
        {
            "template": template,
            "problem": ts.get(key) if key else None,
            "problem_url": ts.get(key).url(slug) if key else "",
            "meta_words": words,
            "languages": selectors.template_languages(template=template).exclude(pk=template.pk),
            "history": selectors.template_history(template=template),
            "in_flight": template.submission in IN_FLIGHT,
            "allowance": allowance,
            "reusable_at": selectors.reusable_at(template.waba, template.name, template.language)
            if template.is_deleted
            else None,
            "components": components_view(template.components),
        },
    )


@tenant_view()
@require_GET
def template_state(request: HttpRequest, template_pk: int) -> HttpResponse:
    """The template's status in place: polled while a change is being sent to Meta."""
    template = selectors.template_access(template_pk=template_pk)
    in_flight = template.submission in IN_FLIGHT
    response = render(
        request,
        "templates_app/_state.html",
        {"template": template, "in_flight": in_flight},
    )
    if _htmx(request) and not in_flight and request.GET.get("was") == "busy":
        response["HX-Refresh"] = "true"  # Meta answered: the page shows what changed
    return response


def _detail_or_list(request: HttpRequest, template: Template) -> HttpResponse:
    if template.is_deleted:
        return redirect(_list_url(request))
    return redirect("templates_app:detail", tenant_slug=_slug(request), template_pk=template.pk)


@tenant_view()
@require_POST
@refusals_return_to("templates_app:detail", "template_pk")
def template_delete(request: HttpRequest, template_pk: int) -> HttpResponse:
    require_manager(
        _membership(request), message=_("Only owners and admins can manage message templates.")
    )
    template = selectors.template_access(template_pk=template_pk)
    done = lifecycle.template_delete(actor=_membership(request), template=template)
    _deleted_message(request, done)
    return _detail_or_list(request, done[0] if done else template)


@tenant_view()
@require_POST
@refusals_return_to("templates_app:detail", "template_pk")
def template_delete_name(request: HttpRequest, template_pk: int) -> HttpResponse:
    require_manager(
        _membership(request), message=_("Only owners and admins can manage message templates.")
    )
    template = selectors.template_access(template_pk=template_pk)
    done = lifecycle.template_delete(
        actor=_membership(request), template=template, all_languages=True
    )
    _deleted_message(request, done)
    return redirect(_list_url(request))


def _deleted_message(request: HttpRequest, done: list[Template]) -> None:
    at_meta = [t for t in done if t.submission == Submission.DELETING]
    if at_meta:
        messages.success(
            request,
            ngettext(
                "%(templates)s is being deleted at Meta.",
                "%(templates)s are being deleted at Meta.",
                len(at_meta),
            )
            % {"templates": ", ".join(str(t) for t in at_meta)},
        )
    local = [t for t in done if t.is_deleted]
    if local:
        messages.success(
            request,
            ngettext("%(templates)s is deleted.", "%(templates)s are deleted.", len(local))
            % {"templates": ", ".join(str(t) for t in local)},
        )


# --- Sync now -----------------------------------------------------------------------------


def _since(value: str | None) -> float | None:
    try:
        since = float(value or "")
    except ValueError:
        return None
    return since if math.isfinite(since) and since > 0 else None


def _sync_context(request: HttpRequest, since: float | None) -> dict[str, Any]:
    """The syncs asked for at ``since`` (epoch s) and where they stand."""
    if since is None:
        last = TemplateSync.objects.select_related("waba").order_by("-created_at").first()
        return {"state": "idle", "syncs": [], "last": last, "since": ""}
    asked = datetime.fromtimestamp(since, tz=UTC)
    syncs = list(
        TemplateSync.objects.select_related("waba")
        .filter(created_at__gte=asked)
        .order_by("waba__name", "-created_at")
    )
    latest: dict[int, TemplateSync] = {}
    for s in syncs:
        latest.setdefault(s.waba_id, s)
    items = list(latest.values())
    if items and all(s.finished for s in items):
        state = "failed" if any(s.state == SyncState.FAILED for s in items) else "done"
    elif time.time() - since > SYNC_POLL_SECONDS:
        state = "slow"
    else:
        state = "running"
    return {
        "state": state,
        "syncs": [{"sync": s, "problem": ts.get(s.problem) if s.problem else None} for s in items],
        "last": None,
        "since": f"{since:.6f}",
    }


def _sync_box(request: HttpRequest, since: float | None) -> HttpResponse:
    context = {"sync": _sync_context(request, since)}
    response = render(request, "templates_app/_sync_box.html", context)
    state = context["sync"]["state"]
    if _htmx(request) and state in ("done", "failed"):
        # The list shows what the sync changed: htmx reloads it, with the counts on top.
        for item in context["sync"]["syncs"]:
            s = item["sync"]
            if s.state == SyncState.DONE:
                messages.success(request, sync_summary(s))
            else:
                messages.error(
                    request,
                    _("Reading the templates of %(account)s failed: %(problem)s")
                    % {"account": s.waba, "problem": item["problem"].title},
                )
        response["HX-Refresh"] = "true"
    return response


def sync_summary(s: TemplateSync) -> str:
    return _(
        "%(account)s: %(read)s templates read from Meta — %(created)s new, %(updated)s "
        "changed, %(deleted)s deleted at Meta, %(samples)s Meta samples skipped."
    ) % {
        "account": s.waba,
        "read": s.read,
        "created": s.created,
        "updated": s.updated,
        "deleted": s.deleted,
        "samples": s.samples_skipped,
    }


@tenant_view()
@require_POST
@refusals_return_to("templates_app:list")
def templates_sync(request: HttpRequest) -> HttpResponse:
    require_manager(
        _membership(request), message=_("Only owners and admins can manage message templates.")
    )
    waba = None
    waba_pk = parse_id(request.POST.get("waba"))
    if waba_pk is not None:
        from senders.selectors import waba_access

        waba = waba_access(waba_pk=waba_pk)
    since = time.time()
    template_sync.templates_sync_request(actor=_membership(request), waba=waba)
    if _htmx(request):
        return _sync_box(request, since)
    messages.success(request, _("Reading templates from Meta; this page shows the result soon."))
    return redirect(_list_url(request))


@tenant_view()
@require_GET
def templates_sync_status(request: HttpRequest) -> HttpResponse:
    """What became of the sync "Sync now" asked for (polled by the box it answered)."""
    return _sync_box(request, _since(request.GET.get("since")))


# --- Components in words ------------------------------------------------------------------


def components_view(components: Any) -> dict[str, Any]:
    """Meta's component list as the detail page shows it: header, body, footer, buttons."""
    view: dict[str, Any] = {"header": None, "body": None, "footer": None, "buttons": []}
    for comp in components if isinstance(components, list) else []:
        if not isinstance(comp, dict):
            continue
        kind = str(comp.get("type", "")).upper()
        if kind == "HEADER":
            view["header"] = {
                "format": str(comp.get("format") or "TEXT").upper(),
                "text": str(comp.get("text") or ""),
                "examples": _examples(comp.get("example"), "header_text"),
            }
        elif kind == "BODY":
            view["body"] = {
                "text": str(comp.get("text") or ""),
                "examples": _examples(comp.get("example"), "body_text"),
                "add_security_recommendation": bool(comp.get("add_security_recommendation")),
            }
        elif kind == "FOOTER":
            view["footer"] = {
                "text": str(comp.get("text") or ""),
                "code_expiration_minutes": comp.get("code_expiration_minutes"),
            }
        elif kind == "BUTTONS":
            for button in comp.get("buttons") or []:
                if isinstance(button, dict):
                    view["buttons"].append(
                        {
                            "type": str(button.get("type") or "").upper(),
                            "text": str(button.get("text") or ""),
                            "target": str(
                                button.get("url")
                                or button.get("phone_number")
                                or button.get("otp_type")
                                or ""
                            ),
                            "example": button.get("example"),
                        }
                    )
    return view


def _examples(example: Any, key: str) -> list[str]:
    """The example values of a header or body, positional or named, as Meta holds them."""
    if not isinstance(example, dict):
        return []
    values: Any = example.get(key)
    if isinstance(values, list) and values and isinstance(values[0], list):
        values = values[0]  # body_text is a list of one list
    named = example.get(f"{key}_named_params")
    if isinstance(named, list):
        return [
            f"{item.get('param_name')}: {item.get('example')}"
            for item in named
            if isinstance(item, dict)
        ]
    return [str(v) for v in values] if isinstance(values, list) else []
