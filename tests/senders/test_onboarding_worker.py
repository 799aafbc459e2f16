"""The onboarding pipeline on a real Celery worker: retries, bounds, and a killed worker."""

from __future__ import annotations

import json
import signal

import pytest
from django.test import Client

from accounts.tenancy import tenant_scope
from senders import troubleshooting as ts
from senders.models import AccountHistory, MetaAsset, Onboarding, OnboardingStatus, PhoneNumber
from senders.services import onboarding as onboarding_services
from tests.factories import World
from tests.fixtures_celery import WorkerProcess, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def celery_worker_env(mock_meta) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {
        "GRAPH_API_BASE_URL": mock_meta.base_url,
        "ONBOARDING_RETRY_BASE_SECONDS": "0.2",
        "ONBOARDING_MAX_RETRIES": "3",
        "ONBOARDING_STALE_SECONDS": "3",
        # Meta's hint for a rate limit is a minute; the tests do not wait that long.
        "ONBOARDING_MAX_RETRY_DELAY_SECONDS": "1",
    }


@pytest.fixture(autouse=True)
def graph_at_mock(settings, mock_meta):  # type: ignore[no-untyped-def]
    settings.GRAPH_API_BASE_URL = mock_meta.base_url
    settings.ONBOARDING_STALE_SECONDS = 3


def start(world: World, signup: dict) -> int:
    c = Client()
    c.force_login(world.owner.user)
    response = c.post(
        "/t/acme/settings/whatsapp/connect/",
        json.dumps({"code": signup["code"], "session": signup["session_info"]}),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return int(response.json()["onboarding"])


def finished(world: World, pk: int) -> Onboarding | None:
    with tenant_scope(world.tenant):
        ob = Onboarding.objects.get(pk=pk)
    return ob if ob.status in (OnboardingStatus.SUCCEEDED, OnboardingStatus.FAILED) else None


def register_attempts(world: World, pk: int) -> int:
    with tenant_scope(world.tenant):
        return Onboarding.objects.get(pk=pk).steps.get(name="register_number").attempts


def test_transient_errors_are_retried_with_backoff(
    world: World, mock_meta, celery_worker_process: WorkerProcess
) -> None:  # type: ignore[no-untyped-def]
    signup = mock_meta.signup(phone="+4915112345672")
    # The WABA read fails twice, absorbed by the client's own retries for reads; the
    # register call, which the client never repeats blindly, fails once: the task
    # retries that step after a backoff.
    mock_meta.fault(
        "GET",
        rf"^/v[0-9.]+/{signup['waba_id']}$",
        code=2,
        http_status=503,
        times=2,
        is_transient=True,
    )
    mock_meta.fault("POST", r"/register$", code=133004, http_status=503, times=1, is_transient=True)
    pk = start(world, signup)
    ob = wait_for(
        lambda: finished(world, pk), timeout=60, message=celery_worker_process.log()[-3000:]
    )
    assert ob.status == OnboardingStatus.SUCCEEDED, ob.error_message
    assert register_attempts(world, pk) == 2
    register_calls = [r for r in mock_meta.requests() if r["path"].endswith("/register")]
    assert len(register_calls) == 2


def test_retries_are_bounded_and_end_with_the_fix(
    world: World, mock_meta, celery_worker_process: WorkerProcess
) -> None:  # type: ignore[no-untyped-def]
    signup = mock_meta.signup(phone="+4915112345673")
    mock_meta.fault(
        "POST", r"/register$", code=133004, http_status=503, times=50, is_transient=True
    )
    pk = start(world, signup)
    ob = wait_for(
        lambda: finished(world, pk), timeout=60, message=celery_worker_process.log()[-3000:]
    )
    assert (ob.status, ob.problem) == (OnboardingStatus.FAILED, ts.META_UNAVAILABLE)
    assert register_attempts(world, pk) == 4  # the first try and 3 retries


def test_worker_killed_mid_pipeline_resumes_without_duplicates(
    world: World, mock_meta, celery_worker_process: WorkerProcess
) -> None:  # type: ignore[no-untyped-def]
    signup = mock_meta.signup(phone="+4915112345680", display_name="Resume Co")
    mock_meta.fault("POST", r"/register$", latency=4, times=1)  # a slow Meta, once
    pk = start(world, signup)
    wait_for(lambda: register_attempts(world, pk) == 1, timeout=30)
    celery_worker_process.kill(signal.SIGKILL)
    with tenant_scope(world.tenant):
        assert Onboarding.objects.get(pk=pk).status == OnboardingStatus.RUNNING

    celery_worker_process.start()
    # Beat's resume task finds it once it has made no progress for a while.
    wait_for(
        lambda: onboarding_services.onboardings_resume_stale(older_than_seconds=3),
        timeout=30,
        interval=0.5,
    )
    ob = wait_for(
        lambda: finished(world, pk), timeout=60, message=celery_worker_process.log()[-3000:]
    )
    assert ob.status == OnboardingStatus.SUCCEEDED, ob.error_message
    with tenant_scope(world.tenant):
        assert PhoneNumber.objects.count() == 1
        assert MetaAsset.objects.count() == 2
        assert AccountHistory.objects.filter(kind="connection", new_value="connected").count() == 1
        assert PhoneNumber.objects.get().meta_status == "CONNECTED"


def test_rate_limits_are_waited_out_and_retried(
    world: World, mock_meta, celery_worker_process: WorkerProcess
) -> None:  # type: ignore[no-untyped-def]
    signup = mock_meta.signup(phone="+4915112345681")
    # Meta's business use case rate limit on the register call, twice.
    mock_meta.fault("POST", r"/register$", code=80007, http_status=400, times=2)
    pk = start(world, signup)
    ob = wait_for(
        lambda: finished(world, pk), timeout=60, message=celery_worker_process.log()[-3000:]
    )
    assert ob.status == OnboardingStatus.SUCCEEDED, ob.error_message
    assert register_attempts(world, pk) == 3


def test_a_resubmit_meta_never_answers_ends_with_its_fix_not_silence(
    world: World, mock_meta, celery_worker_process: WorkerProcess
) -> None:  # type: ignore[no-untyped-def]
    from senders.models import ConnectionStatus

    signup = mock_meta.signup(phone="+4915112345682")
    pk = start(world, signup)
    ob = wait_for(
        lambda: finished(world, pk), timeout=60, message=celery_worker_process.log()[-3000:]
    )
    assert ob.status == OnboardingStatus.SUCCEEDED, ob.error_message
    with tenant_scope(world.tenant):
        phone = PhoneNumber.objects.get()
        phone.meta_status, phone.problem = "PENDING", ts.TWO_STEP_VERIFICATION
        phone.connection_status = ConnectionStatus.ACTION_REQUIRED
        phone.save()
    mock_meta.fault(
        "POST", r"/register$", code=133004, http_status=503, times=50, is_transient=True
    )
    c = Client()
    c.force_login(world.owner.user)
    c.post(f"/t/acme/settings/whatsapp/numbers/{phone.pk}/resubmit/")

    def gave_up() -> PhoneNumber | None:
        with tenant_scope(world.tenant):
            current = PhoneNumber.objects.get(pk=phone.pk)
        return current if current.problem == ts.META_UNAVAILABLE else None

    current = wait_for(gave_up, timeout=60, message=celery_worker_process.log()[-3000:])
    assert current.connection_status == ConnectionStatus.ACTION_REQUIRED
    page = c.get(f"/t/acme/settings/whatsapp/accounts/{phone.waba_id}/").content.decode()
    assert f'data-problem="{ts.META_UNAVAILABLE}"' in page
    register_calls = [r for r in mock_meta.requests() if r["path"].endswith("/register")]
    assert len(register_calls) == 1 + 4  # the onboarding's; the resubmit and 3 retries
