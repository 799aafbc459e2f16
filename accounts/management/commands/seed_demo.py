"""Create (or refresh) the demo workspace for local runs and print how to log in."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import Membership, Role, Tenant, User
from accounts.tenancy import tenant_scope

DEMO_TENANT = ("Demo Company", "demo")
DEMO_USERS = [
    ("owner@demo.example", "Olivia Owner", Role.OWNER),
    ("agent@demo.example", "Anton Agent", Role.AGENT),
]
DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - a local demo login, printed on purpose


class Command(BaseCommand):
    help = "Create the demo workspace with an owner and an agent (idempotent)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--password", default=DEMO_PASSWORD)

    @transaction.atomic
    def handle(self, *args: Any, password: str, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError(
                "seed_demo resets the demo logins to a published password: it is for local "
                "runs only. Run it with DEBUG=1 (make run does)."
            )
        name, slug = DEMO_TENANT
        tenant, _ = Tenant.objects.get_or_create(slug=slug, defaults={"name": name})
        with tenant_scope(tenant):
            for email, full_name, role in DEMO_USERS:
                user = User.objects.filter(email=email).first()
                if user is None:
                    user = User.objects.create_user(email=email, full_name=full_name)
                user.set_password(password)
                user.save()
                Membership.objects.update_or_create(user=user, defaults={"role": role})
        url = f"{settings.SITE_URL}/t/{tenant.slug}/"
        lines = [
            "",
            "WABA Portal demo is ready",
            f"  open:   {url}",
            *(f"  {role.label.lower():6}  {email} / {password}" for email, _n, role in DEMO_USERS),
            "",
        ]
        self.stdout.write("\n".join(lines))
