from django.contrib.auth import views as auth_views
from django.urls import include, path, reverse_lazy

from accounts import views
from waba_portal import guards  # noqa: F401 - registers the <id:...> path converter

app_name = "accounts"

tenant_patterns = [
    path("", views.dashboard, name="dashboard"),
    path("settings/members/", views.members, name="members"),
    path("settings/members/<id:membership_id>/role/", views.member_role, name="member_role"),
    path("settings/members/<id:membership_id>/remove/", views.member_remove, name="member_remove"),
    path(
        "settings/invitations/<id:invitation_id>/<str:action>/",
        views.invitation_action,
        name="invitation_action",
    ),
    path("settings/teams/", views.teams, name="teams"),
    path("settings/teams/<id:team_id>/", views.team_detail, name="team_detail"),
    path("settings/audit/", views.audit_log, name="audit_log"),
    path("settings/security/", views.security, name="security"),
    path("settings/api-keys/", views.api_keys, name="api_keys"),
    path("settings/api-keys/<id:api_key_pk>/revoke/", views.api_key_revoke, name="api_key_revoke"),
    path("notifications/", views.notifications, name="notifications"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("signup/", views.signup, name="signup"),
    path("login/", views.SignInView.as_view(), name="login"),
    path("login/code/", views.login_code, name="login_code"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password-reset/",
        views.PasswordResetView.as_view(success_url=reverse_lazy("accounts:password_reset_done")),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="accounts/password_reset_confirm.html",
            success_url=reverse_lazy("accounts:password_reset_complete"),
        ),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="accounts/password_reset_complete.html"
        ),
        name="password_reset_complete",
    ),
    path("language/", views.set_language, name="set_language"),
    path("account/", views.profile, name="profile"),
    path("account/two-factor/", views.two_factor, name="two_factor"),
    path(
        "account/two-factor/recovery-codes/",
        views.two_factor_recovery_codes,
        name="two_factor_recovery_codes",
    ),
    path("account/two-factor/disable/", views.two_factor_disable, name="two_factor_disable"),
    path("workspaces/", views.tenant_list, name="tenant_list"),
    path("workspaces/new/", views.tenant_create, name="tenant_create"),
    path("invitations/accept/", views.invitation_accept, name="invitation_accept"),
    path("invitations/<str:token>/", views.invitation_legacy_link, name="invitation_legacy_link"),
    path("t/<slug:tenant_slug>/", include(tenant_patterns)),
]
