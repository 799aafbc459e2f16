"""Pages of accounts: sign-up, login, workspaces, members, teams, invitations, audit log.

Views only translate HTTP to service calls and back; rules live in services.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts import selectors, services
from accounts.forms import (
    AcceptInvitationForm,
    InviteForm,
    ProfileForm,
    RoleForm,
    SignupForm,
    TeamForm,
    TeamMemberForm,
    TenantForm,
)
from accounts.models import Invitation, Membership, Team
from accounts.permissions import managers_only, require_manager, tenant_view
from waba_portal.errors import ServiceError, form_add_error
from waba_portal.middleware import refusals_return_to

LANGUAGE_COOKIE = "django_language"


# --- Entry points -------------------------------------------------------------------


def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("accounts:login")
    tenant = selectors.default_tenant_for_user(user=request.user)  # type: ignore[arg-type]
    if tenant is None:
        return redirect("accounts:tenant_create")
    return redirect("accounts:dashboard", tenant_slug=tenant.slug)


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("accounts:home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            owner, tenant = services.tenants.user_signup(
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
                full_name=form.cleaned_data["full_name"],
                tenant_name=form.cleaned_data["tenant_name"],
            )
        except ServiceError as exc:
            form_add_error(form, exc)
        else:
            login(request, owner, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Welcome! Your workspace is ready."))
            return redirect("accounts:dashboard", tenant_slug=tenant.slug)
    return render(request, "accounts/signup.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def tenant_create(request: HttpRequest) -> HttpResponse:
    form = TenantForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            tenant = services.tenants.tenant_create(
                owner=request.user,  # type: ignore[arg-type]
                name=form.cleaned_data["name"],
            )
        except ServiceError as exc:
            form_add_error(form, exc)
        else:
            return redirect("accounts:dashboard", tenant_slug=tenant.slug)
    return render(request, "accounts/tenant_create.html", {"form": form})


@login_required
def tenant_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "accounts/tenant_list.html",
        {"memberships": selectors.memberships_of_user(user=request.user)},  # type: ignore[arg-type]
    )


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Switch the UI language; a signed-in user keeps the choice on the account."""
    language = request.POST.get("language", "")
    next_url = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = "/"
    response = redirect(next_url)
    try:
        if request.user.is_authenticated:
            services.tenants.user_set_language(user=request.user, language=language)  # type: ignore[arg-type]
        else:
            services.tenants.validate_language(language=language)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return response
    response.set_cookie(LANGUAGE_COOKIE, language, max_age=365 * 24 * 3600, samesite="Lax")
    return response


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = ProfileForm(
        request.POST or None,
        initial={"full_name": user.full_name, "language": user.language or request.LANGUAGE_CODE},  # type: ignore[union-attr]
    )
    if request.method == "POST" and form.is_valid():
        services.tenants.user_update_profile(
            user=user,  # type: ignore[arg-type]
            full_name=form.cleaned_data["full_name"],
            language=form.cleaned_data["language"],
        )
        response = redirect("accounts:profile")
        response.set_cookie(LANGUAGE_COOKIE, form.cleaned_data["language"], samesite="Lax")
        messages.success(request, _("Your profile was saved."))
        return response
    return render(request, "accounts/profile.html", {"form": form})


# --- Tenant pages ---------------------------------------------------------------------


@tenant_view()
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "accounts/dashboard.html",
        {
            "member_count": selectors.member_list().count(),
            "team_count": selectors.team_list().count(),
            "pending_invitations": selectors.pending_invitations().count(),
        },
    )


@tenant_view()
@require_http_methods(["GET", "POST"])
def members(request: HttpRequest) -> HttpResponse:
    membership: Membership = request.membership  # type: ignore[attr-defined]
    form = InviteForm(request.POST or None)
    if request.method == "POST":
        require_manager(membership, message=_("Only owners and admins can invite members."))
        if form.is_valid():
            try:
                invitation = services.invitations.invitation_create(
                    actor=membership,
                    email=form.cleaned_data["email"],
                    role=form.cleaned_data["role"],
                )
            except ServiceError as exc:
                form_add_error(form, exc)
            else:
                messages.success(
                    request, _("Invitation sent to %(email)s.") % {"email": invitation.email}
                )
                return redirect("accounts:members", tenant_slug=request.tenant.slug)  # type: ignore[attr-defined]
    return render(
        request,
        "accounts/members.html",
        {
            "form": form,
            "members": selectors.member_list(),
            "invitations": selectors.pending_invitations(),
            "role_form": RoleForm(),
        },
        status=400 if form.errors else 200,
    )


@refusals_return_to("accounts:members")
@managers_only
@require_POST
def member_role(request: HttpRequest, membership_id: int) -> HttpResponse:
    target = selectors.membership_access(membership_pk=membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose one of the roles offered."))
    else:
        services.members.membership_change_role(
            actor=request.membership,  # type: ignore[attr-defined]
            membership=target,
            role=form.cleaned_data["role"],
        )
        messages.success(
            request,
            _("%(email)s is now %(role)s.")
            % {"email": target.user.email, "role": target.get_role_display()},
        )
    return redirect("accounts:members", tenant_slug=request.tenant.slug)  # type: ignore[attr-defined]


@refusals_return_to("accounts:members")
@tenant_view()
@require_POST
def member_remove(request: HttpRequest, membership_id: int) -> HttpResponse:
    target = selectors.membership_access(membership_pk=membership_id)
    actor: Membership = request.membership  # type: ignore[attr-defined]
    services.members.membership_remove(actor=actor, membership=target)
    if target.pk == actor.pk:
        messages.success(request, _("You left the workspace."))
        return redirect("accounts:home")
    messages.success(request, _("%(email)s was removed.") % {"email": target.user.email})
    return redirect("accounts:members", tenant_slug=request.tenant.slug)  # type: ignore[attr-defined]


@refusals_return_to("accounts:members")
@managers_only
@require_POST
def invitation_action(request: HttpRequest, invitation_id: int, action: str) -> HttpResponse:
    invitation = selectors.invitation_access(invitation_pk=invitation_id)
    if action == "resend":
        services.invitations.invitation_resend(actor=request.membership, invitation=invitation)  # type: ignore[attr-defined]
        messages.success(
            request, _("Invitation sent again to %(email)s.") % {"email": invitation.email}
        )
    elif action == "revoke":
        services.invitations.invitation_revoke(actor=request.membership, invitation=invitation)  # type: ignore[attr-defined]
        messages.success(
            request, _("Invitation to %(email)s revoked.") % {"email": invitation.email}
        )
    else:
        raise Http404
    return redirect("accounts:members", tenant_slug=request.tenant.slug)  # type: ignore[attr-defined]


@tenant_view()
@require_http_methods(["GET", "POST"])
def teams(request: HttpRequest) -> HttpResponse:
    membership: Membership = request.membership  # type: ignore[attr-defined]
    form = TeamForm(request.POST or None)
    if request.method == "POST":
        require_manager(membership, message=_("Only owners and admins can manage teams."))
        if form.is_valid():
            try:
                team = services.teams.team_create(actor=membership, name=form.cleaned_data["name"])
            except ServiceError as exc:
                form_add_error(form, exc)
            else:
                messages.success(request, _("Team %(name)s created.") % {"name": team.name})
                slug = request.tenant.slug  # type: ignore[attr-defined]
                return redirect("accounts:team_detail", tenant_slug=slug, team_id=team.pk)
    return render(
        request,
        "accounts/teams.html",
        {"form": form, "teams": selectors.team_list()},
        status=400 if form.errors else 200,
    )


@refusals_return_to("accounts:team_detail", "team_id")
@tenant_view()
@require_http_methods(["GET", "POST"])
def team_detail(request: HttpRequest, team_id: int) -> HttpResponse:
    membership: Membership = request.membership  # type: ignore[attr-defined]
    team: Team = selectors.team_access(team_pk=team_id)
    tenant_slug = request.tenant.slug  # type: ignore[attr-defined]
    rename_form = TeamForm(initial={"name": team.name})
    add_form = TeamMemberForm(members=selectors.member_list().exclude(teams=team))
    if request.method == "POST":
        require_manager(membership, message=_("Only owners and admins can manage teams."))
        action = request.POST.get("action")
        try:
            if action == "rename":
                rename_form = TeamForm(request.POST)
                if rename_form.is_valid():
                    services.teams.team_rename(
                        actor=membership, team=team, name=rename_form.cleaned_data["name"]
                    )
                    messages.success(request, _("Team renamed."))
                    return redirect(
                        "accounts:team_detail", tenant_slug=tenant_slug, team_id=team.pk
                    )
            elif action == "add":
                add_form = TeamMemberForm(request.POST, members=selectors.member_list())
                if add_form.is_valid():
                    services.teams.team_member_add(
                        actor=membership, team=team, membership=add_form.cleaned_data["membership"]
                    )
                    return redirect(
                        "accounts:team_detail", tenant_slug=tenant_slug, team_id=team.pk
                    )
            elif action == "remove":
                target = selectors.membership_access(
                    membership_pk=request.POST.get("membership") or 0
                )
                services.teams.team_member_remove(actor=membership, team=team, membership=target)
                return redirect("accounts:team_detail", tenant_slug=tenant_slug, team_id=team.pk)
            elif action == "delete":
                services.teams.team_delete(actor=membership, team=team)
                messages.success(request, _("Team %(name)s deleted.") % {"name": team.name})
                return redirect("accounts:teams", tenant_slug=tenant_slug)
            else:
                messages.error(request, _("Unknown action."))
        except ServiceError as exc:
            if action != "rename":
                raise  # answered by ServiceErrorMiddleware
            form_add_error(rename_form, exc)
    return render(
        request,
        "accounts/team_detail.html",
        {
            "team": team,
            "team_members": team.members.select_related("user").order_by("user__email"),
            "rename_form": rename_form,
            "add_form": add_form,
        },
        status=400 if (rename_form.errors or add_form.errors) else 200,
    )


@managers_only
def audit_log(request: HttpRequest) -> HttpResponse:
    events = selectors.audit_events(action_prefix=request.GET.get("action", ""))
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(
        request, "accounts/audit_log.html", {"page": page, "action": request.GET.get("action", "")}
    )


# --- Invitations --------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    invitation: Invitation | None = selectors.invitation_by_token(token=token)
    if invitation is None:
        raise Http404
    context: dict[str, Any] = {"invitation": invitation}
    if not invitation.is_usable:
        context["problem"] = services.invitations.invitation_problem(invitation=invitation)
        return render(request, "accounts/invitation_accept.html", context, status=410)

    if request.user.is_authenticated:
        if request.method == "POST":
            try:
                membership = services.invitations.invitation_accept(
                    invitation=invitation,
                    user=request.user,  # type: ignore[arg-type]
                )
            except ServiceError as exc:
                context["problem"] = exc.message
                return render(request, "accounts/invitation_accept.html", context, status=400)
            messages.success(
                request, _("You joined %(tenant)s.") % {"tenant": invitation.tenant.name}
            )
            return redirect("accounts:dashboard", tenant_slug=membership.tenant.slug)
        return render(request, "accounts/invitation_accept.html", context)

    if selectors.user_exists(email=invitation.email):
        context["login_required"] = True
        return render(request, "accounts/invitation_accept.html", context)

    form = AcceptInvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            membership = services.invitations.invitation_accept_new_user(
                invitation=invitation,
                full_name=form.cleaned_data["full_name"],
                password=form.cleaned_data["password1"],
            )
        except ServiceError as exc:
            form_add_error(form, exc)
        else:
            login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(
                request, _("Welcome to %(tenant)s.") % {"tenant": invitation.tenant.name}
            )
            return redirect("accounts:dashboard", tenant_slug=membership.tenant.slug)
    context["form"] = form
    return render(
        request, "accounts/invitation_accept.html", context, status=400 if form.errors else 200
    )


@tenant_view()
@require_http_methods(["GET", "POST"])
def notifications(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        services.notifications.notifications_mark_read(user=request.user)  # type: ignore[arg-type]
        return redirect("accounts:notifications", tenant_slug=request.tenant.slug)  # type: ignore[attr-defined]
    return render(
        request,
        "accounts/notifications.html",
        {"notifications": selectors.notifications_for(user=request.user)},  # type: ignore[arg-type]
    )
