"""Pages of accounts: sign-up, login, workspaces, members, teams, invitations, audit log.

Views only translate HTTP to service calls and back; rules live in services.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login

from accounts import lockout, selectors, services
from accounts.forms import (
    AcceptInvitationForm,
    ApiKeyForm,
    ConfirmIdentityForm,
    EmailAuthenticationForm,
    InvitationTokenForm,
    InviteForm,
    ProfileForm,
    RoleForm,
    SignupForm,
    TeamForm,
    TeamMemberForm,
    TenantForm,
    TwoFactorCodeForm,
    TwoFactorRequiredForm,
    TwoFactorSetupForm,
)
from accounts.models import Membership, Team
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
                client_ip=lockout.client_ip(request),
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
        initial={
            "full_name": user.full_name,  # type: ignore[union-attr]
            "language": user.language or request.LANGUAGE_CODE,  # type: ignore[union-attr]
            "time_zone": user.time_zone or settings.TIME_ZONE,  # type: ignore[union-attr]
        },
    )
    if request.method == "POST" and form.is_valid():
        services.tenants.user_update_profile(
            user=user,  # type: ignore[arg-type]
            full_name=form.cleaned_data["full_name"],
            language=form.cleaned_data["language"],
            time_zone=form.cleaned_data["time_zone"],
        )
        response = redirect("accounts:profile")
        response.set_cookie(LANGUAGE_COOKIE, form.cleaned_data["language"], samesite="Lax")
        messages.success(request, _("Your profile was saved."))
        return response
    return render(
        request,
        "accounts/profile.html",
        {"form": form, "two_factor_enabled": selectors.two_factor_enabled(user=user)},  # type: ignore[arg-type]
    )


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


# The invitation a browser has opened: the hash of the token it presented, so that the
# pages after it (a log-in included) need no token in their URL.
INVITATION_SESSION_KEY = "invitation_token_hash"


def _link_not_valid() -> str:
    return _(
        "This link does not open an invitation. If you have a newer invitation e-mail, "
        "use its link; otherwise ask an admin of the workspace for a new invitation."
    )


def _invitation_open_page(
    request: HttpRequest, form: InvitationTokenForm, *, problem: str = "", status: int = 200
) -> HttpResponse:
    context = {"token_form": form, "problem": problem}
    return render(request, "accounts/invitation_accept.html", context, status=status)


def _invitation_open(request: HttpRequest) -> HttpResponse:
    """The token of a link, posted: remember the invitation and show it with a GET."""
    form = InvitationTokenForm(request.POST)
    if not form.is_valid():
        return _invitation_open_page(request, form, status=400)
    invitation = selectors.invitation_by_token(token=form.cleaned_data["token"])
    if invitation is None:
        form.add_error("token", _link_not_valid())
        return _invitation_open_page(request, form, status=404)
    request.session[INVITATION_SESSION_KEY] = invitation.token_hash
    return redirect("accounts:invitation_accept")


@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest) -> HttpResponse:
    """Open an invitation, then accept it signed in or with a new account.

    The e-mail's link carries the token after "#", which the browser keeps to itself:
    ``js/invitation_accept.js`` posts it in the form ``token`` (without JavaScript the
    person pastes the link there). The invitation opened is kept in the session, and the
    other posts here (accept, create the account) act on it.
    """
    if request.method == "POST" and "token" in request.POST:
        return _invitation_open(request)
    token_hash = request.session.get(INVITATION_SESSION_KEY, "")
    invitation = selectors.invitation_by_token_hash(token_hash=token_hash) if token_hash else None
    if invitation is None:
        if token_hash:  # a newer e-mail replaced the link, or the workspace was closed
            del request.session[INVITATION_SESSION_KEY]
            return _invitation_open_page(
                request, InvitationTokenForm(), problem=_link_not_valid(), status=404
            )
        if request.method == "POST":  # the session ended before the form was sent
            problem = _("Open the link in your invitation e-mail again.")
            return _invitation_open_page(
                request, InvitationTokenForm(), problem=problem, status=400
            )
        return _invitation_open_page(request, InvitationTokenForm())

    context: dict[str, Any] = {"invitation": invitation, "token_form": InvitationTokenForm()}
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
            request.session.pop(INVITATION_SESSION_KEY, None)
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
            request.session.pop(INVITATION_SESSION_KEY, None)
            messages.success(
                request, _("Welcome to %(tenant)s.") % {"tenant": invitation.tenant.name}
            )
            return redirect("accounts:dashboard", tenant_slug=membership.tenant.slug)
    context["form"] = form
    return render(
        request, "accounts/invitation_accept.html", context, status=400 if form.errors else 200
    )


@require_http_methods(["GET"])
def invitation_legacy_link(request: HttpRequest, token: str) -> HttpResponse:
    """A link in an e-mail sent before links carried the token after "#".

    Such a link has put its token in the request line already, so this only keeps it
    working until it expires (INVITATION_TTL_DAYS): it opens the invitation as a posted
    token does. No e-mail links here any more.
    """
    invitation = selectors.invitation_by_token(token=token)
    if invitation is None:
        return _invitation_open_page(
            request, InvitationTokenForm(), problem=_link_not_valid(), status=404
        )
    request.session[INVITATION_SESSION_KEY] = invitation.token_hash
    return redirect("accounts:invitation_accept")


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


# --- Signing in: the password, then the second factor -------------------------------------

# A sign-in whose password was right, waiting for its second step (login_code).
PENDING_SIGN_IN = "accounts.pending_sign_in"
# Recovery codes just made, shown once by two_factor_recovery_codes.
NEW_RECOVERY_CODES = "accounts.new_recovery_codes"


def _safe_next(request: HttpRequest, url: str | None, default: str = "/") -> str:
    if url and url_has_allowed_host_and_scheme(url, {request.get_host()}, request.is_secure()):
        return url
    return default


def _with_next(viewname: str, next_url: str) -> str:
    url = reverse(viewname)
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def _session_verified(request: HttpRequest) -> bool:
    is_verified = getattr(request.user, "is_verified", None)
    return bool(is_verified is not None and is_verified())


class SignInView(auth_views.LoginView):
    """The login page. An account with two-factor sign-in goes on to ``login_code``."""

    template_name = "accounts/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True

    def form_valid(self, form: Any) -> HttpResponse:
        user = form.get_user()
        if not selectors.two_factor_enabled(user=user):
            return super().form_valid(form)
        session = self.request.session
        session.cycle_key()
        session[PENDING_SIGN_IN] = {
            "user": user.pk,
            "backend": user.backend,
            "next": self.get_success_url(),
            "at": timezone.now().timestamp(),
        }
        return redirect("accounts:login_code")


def sign_in_locked_out(
    request: HttpRequest, original_response: Any = None, credentials: Any = None
) -> HttpResponse:
    """django-axes' answer to a locked sign-in (``AXES_LOCKOUT_CALLABLE``): when to retry.

    The same page whether or not an account has the address typed.
    """
    retry_at = lockout.locked_until(request, credentials) or (
        timezone.now() + settings.AXES_COOLOFF_TIME
    )
    context = {"retry_at": retry_at, **services.throttling.retry_words(retry_at)}
    return render(request, "accounts/login_locked.html", context, status=429)


@require_http_methods(["GET", "POST"])
def login_code(request: HttpRequest) -> HttpResponse:
    """The second step: a code from the app, or a recovery code.

    For a sign-in whose password was right (waiting in the session), and for a signed-in
    user whose session gave no code yet (a workspace that requires one sent them here).
    """
    pending = request.session.get(PENDING_SIGN_IN)
    backend = None  # set for a sign-in still to finish: log in with it after the code
    if request.user.is_authenticated:
        user = request.user
        next_url = _safe_next(request, request.GET.get("next"))
        if _session_verified(request):
            return redirect(next_url)
        if not selectors.two_factor_enabled(user=user):  # type: ignore[arg-type]
            return redirect(_with_next("accounts:two_factor", next_url))
    elif pending:
        waited = timezone.now().timestamp() - pending["at"]
        user = selectors.active_user(user_pk=pending["user"])  # type: ignore[assignment]
        if user is None or waited > settings.TWO_FACTOR_SIGN_IN_TIMEOUT_SECONDS:
            del request.session[PENDING_SIGN_IN]
            messages.error(request, _("Signing in took too long. Enter your password again."))
            return redirect("accounts:login")
        next_url = _safe_next(request, pending["next"])
        backend = pending["backend"]
    else:
        return redirect("accounts:login")

    form = TwoFactorCodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            device = services.two_factor.two_factor_verify(
                user=user,  # type: ignore[arg-type]
                code=form.cleaned_data["code"],
            )
        except ServiceError as exc:
            form_add_error(form, exc)
            status = exc.status
        else:
            if backend is not None:
                del request.session[PENDING_SIGN_IN]
                login(request, user, backend=backend)  # type: ignore[arg-type]
            otp_login(request, device)
            return redirect(next_url)
    if form.errors and status == 200:
        status = 400
    return render(request, "accounts/login_code.html", {"form": form}, status=status)


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset page. Past the hour's share for the address or the client no mail
    leaves, and the answer is the same "check your e-mail" page."""

    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"

    def form_valid(self, form: Any) -> HttpResponse:
        allowed = services.throttling.password_reset_allowed(
            email=form.cleaned_data["email"], client_ip=lockout.client_ip(self.request)
        )
        if allowed:
            return super().form_valid(form)
        return HttpResponseRedirect(self.get_success_url())


# --- Two-factor sign-in on the account ----------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def two_factor(request: HttpRequest) -> HttpResponse:
    """Set up two-factor sign-in (QR code, secret, first code), or see it when it is on."""
    user = request.user
    next_url = _safe_next(request, request.GET.get("next"), default="")
    context: dict[str, Any] = {
        "next": next_url,
        "required_by": selectors.tenants_requiring_two_factor(user=user),  # type: ignore[arg-type]
    }
    if selectors.two_factor_enabled(user=user):  # type: ignore[arg-type]
        context["codes_left"] = selectors.recovery_codes_left(user=user)  # type: ignore[arg-type]
        return render(request, "accounts/two_factor.html", context)

    device = services.two_factor.two_factor_setup_start(user=user)  # type: ignore[arg-type]
    form = TwoFactorSetupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device, codes = services.two_factor.two_factor_setup_confirm(
                user=user,  # type: ignore[arg-type]
                code=form.cleaned_data["code"],
            )
        except ServiceError as exc:
            form_add_error(form, exc)
        else:
            otp_login(request, device)
            request.session[NEW_RECOVERY_CODES] = codes
            messages.success(request, _("Two-factor sign-in is on."))
            return redirect(_with_next("accounts:two_factor_recovery_codes", next_url))
    context.update(form=form, device=device)
    return render(
        request, "accounts/two_factor_setup.html", context, status=400 if form.errors else 200
    )


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_recovery_codes(request: HttpRequest) -> HttpResponse:
    """New recovery codes, shown once; and the form that makes new ones."""
    user = request.user
    if not selectors.two_factor_enabled(user=user):  # type: ignore[arg-type]
        return redirect("accounts:two_factor")
    form = ConfirmIdentityForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = services.two_factor.two_factor_recovery_codes_regenerate(
                user=user,  # type: ignore[arg-type]
                password=form.cleaned_data["password"],
                code=form.cleaned_data["code"],
            )
        except ServiceError as exc:
            form_add_error(form, exc)
        else:
            request.session[NEW_RECOVERY_CODES] = codes
            messages.success(
                request, _("New recovery codes are ready; the old ones no longer work.")
            )
            return redirect("accounts:two_factor_recovery_codes")
    context = {
        "codes": request.session.pop(NEW_RECOVERY_CODES, None),
        "codes_left": selectors.recovery_codes_left(user=user),  # type: ignore[arg-type]
        "form": form,
        "next": _safe_next(request, request.GET.get("next"), default=""),
    }
    return render(
        request,
        "accounts/two_factor_recovery_codes.html",
        context,
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_disable(request: HttpRequest) -> HttpResponse:
    """Turn two-factor sign-in off, with the password or a code."""
    user = request.user
    if not selectors.two_factor_enabled(user=user):  # type: ignore[arg-type]
        return redirect("accounts:two_factor")
    form = ConfirmIdentityForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.two_factor.two_factor_disable(
                user=user,  # type: ignore[arg-type]
                password=form.cleaned_data["password"],
                code=form.cleaned_data["code"],
            )
        except ServiceError as exc:
            form_add_error(form, exc)
        else:
            messages.success(request, _("Two-factor sign-in is off."))
            return redirect("accounts:profile")
    context = {
        "form": form,
        "required_by": selectors.tenants_requiring_two_factor(user=user),  # type: ignore[arg-type]
    }
    return render(
        request, "accounts/two_factor_disable.html", context, status=400 if form.errors else 200
    )


@refusals_return_to("accounts:security")
@managers_only
@require_http_methods(["GET", "POST"])
def security(request: HttpRequest) -> HttpResponse:
    """How the workspace's members sign in: the owners' switch that requires a second factor."""
    membership: Membership = request.membership  # type: ignore[attr-defined]
    form: Form = TwoFactorRequiredForm(
        request.POST or None, initial={"required": membership.tenant.two_factor_required}
    )
    if request.method == "POST" and form.is_valid():
        tenant = services.two_factor.tenant_set_two_factor_required(
            actor=membership, required=form.cleaned_data["required"]
        )
        if tenant.two_factor_required:
            messages.success(request, _("Every member now signs in with a second factor."))
        else:
            messages.success(request, _("Two-factor sign-in is now up to each member."))
        return redirect("accounts:security", tenant_slug=tenant.slug)
    return render(
        request,
        "accounts/security.html",
        {"form": form, "members": selectors.members_with_two_factor()},
    )


# --- API keys -------------------------------------------------------------------------

# The key just created, shown once on the page the browser is sent to, then forgotten.
NEW_API_KEY = "new_api_key"


@managers_only
@require_http_methods(["GET", "POST"])
def api_keys(request: HttpRequest) -> HttpResponse:
    """The workspace's API keys, and the form that makes one (shown once)."""
    membership: Membership = request.membership  # type: ignore[attr-defined]
    form = ApiKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        days = int(form.cleaned_data["expires"])
        try:
            key, secret = services.api_keys.api_key_create(
                actor=membership,
                name=form.cleaned_data["name"],
                scopes=form.scopes(),
                expires_at=timezone.now() + timedelta(days=days) if days else None,
            )
        except ServiceError as exc:
            if exc.field == "scopes":
                form.add_error(None, exc.message)
            else:
                form_add_error(form, exc)
        else:
            request.session[NEW_API_KEY] = {"id": key.pk, "key": secret}
            messages.success(request, _("API key %(name)s created.") % {"name": key.name})
            return redirect("accounts:api_keys", tenant_slug=membership.tenant.slug)
    new_key = request.session.pop(NEW_API_KEY, None)
    return render(
        request,
        "accounts/api_keys.html",
        {"form": form, "keys": selectors.api_key_list(), "new_key": new_key},
        status=400 if form.errors else 200,
    )


@refusals_return_to("accounts:api_keys")
@managers_only
@require_POST
def api_key_revoke(request: HttpRequest, api_key_pk: int) -> HttpResponse:
    key = selectors.api_key_access(api_key_pk=api_key_pk)
    services.api_keys.api_key_revoke(actor=request.membership, key=key)  # type: ignore[attr-defined]
    messages.success(
        request, _("API key %(name)s revoked: it no longer works.") % {"name": key.name}
    )
    return redirect("accounts:api_keys", tenant_slug=request.tenant.slug)  # type: ignore[attr-defined]
