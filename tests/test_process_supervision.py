"""Every long-running process is restarted when it exits, wherever it runs.

- docker-compose.yml: ``restart: unless-stopped`` on every service but the one-shot
  jobs (those another service waits for with ``service_completed_successfully``);
- the Procfiles (honcho, ``make run``): each line runs under ``scripts/supervise.py``,
  because honcho stops every process as soon as one exits;
- every Celery worker command leaves out the broadcast consumers that made the worker
  exit when Redis died (waba_portal/celery.py).
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from waba_portal.celery import WORKER_FLAGS
from waba_portal.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[1]
SUPERVISE = ROOT / "scripts" / "supervise.py"
PROCFILES = ("Procfile", "Procfile.dev")


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())  # merges the anchors


def _procfile(name: str) -> dict[str, list[str]]:
    lines = (ROOT / name).read_text().splitlines()
    return {
        key.strip(): shlex.split(command)
        for key, _, command in (line.partition(":") for line in lines if line.strip())
    }


def test_every_long_running_compose_service_restarts_when_it_exits() -> None:
    services = _compose()["services"]
    one_shot = {
        name
        for spec in services.values()
        for name, dep in (spec.get("depends_on") or {}).items()
        if isinstance(dep, dict) and dep.get("condition") == "service_completed_successfully"
    }
    assert one_shot == {"migrate"}
    policies = {name: spec.get("restart") for name, spec in services.items()}
    assert {n for n in policies if n not in one_shot} >= {"web", "worker", "beat"}
    assert {n: p for n, p in policies.items() if n not in one_shot} == {
        n: "unless-stopped" for n in policies if n not in one_shot
    }


@pytest.mark.parametrize("procfile", PROCFILES)
def test_every_procfile_process_runs_under_the_supervisor(procfile: str) -> None:
    for name, argv in _procfile(procfile).items():
        assert argv[1:3] == ["scripts/supervise.py", name], f"{procfile} {name}: {argv}"
        assert argv[0].endswith("python") and "--" in argv, f"{procfile} {name}: {argv}"


def _worker_commands() -> dict[str, list[str]]:
    commands = {"docker-compose.yml": _compose()["services"]["worker"]["command"]}
    for procfile in PROCFILES:
        argv = _procfile(procfile)["worker"]
        commands[procfile] = argv[argv.index("--") + 1 :]
    return commands


def test_every_worker_runs_without_the_broadcast_consumers_that_died_with_redis() -> None:
    assert celery_app.conf.worker_enable_remote_control is False
    assert celery_app.conf.broker_connection_max_retries is None  # waits out any outage
    for where, argv in _worker_commands().items():
        assert "worker" in argv, where
        assert set(WORKER_FLAGS) <= set(argv), f"{where}: {argv}"


# --- scripts/supervise.py ----------------------------------------------------------------


def _supervise(tmp_path: Path, *command: str, **options: str) -> subprocess.Popen[str]:
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in options.items()]
    return subprocess.Popen(
        [sys.executable, str(SUPERVISE), "demo", *flags, "--", *command],
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_the_supervisor_restarts_a_crashing_command_with_a_bounded_backoff(
    tmp_path: Path,
) -> None:
    runs = tmp_path / "runs"
    sup = _supervise(
        tmp_path,
        "sh",
        "-c",
        f"echo x >> {runs}; exit 3",
        backoff="0.1",
        backoff_max="0.4",
        healthy="60",
    )
    time.sleep(2.5)
    sup.send_signal(signal.SIGTERM)
    _, err = sup.communicate(timeout=15)
    lines = [ln for ln in err.splitlines() if "supervise[demo]" in ln]
    assert len(runs.read_text().splitlines()) >= 5
    assert "exited with status 3" in lines[0] and "restarting in 0.1 s (restart 1)" in lines[0]
    pauses = [float(ln.split("restarting in ")[1].split(" s")[0]) for ln in lines]
    assert pauses[:3] == [0.1, 0.2, 0.4] and max(pauses) == 0.4  # doubled, then capped


def test_the_supervisor_passes_a_stop_on_and_leaves_nothing_behind(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    sup = _supervise(tmp_path, "sleep", "300", pid_file=str(pid_file), stop_timeout="5")
    deadline = time.monotonic() + 10
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    first = int(pid_file.read_text())
    os.kill(first, signal.SIGKILL)  # dies on its own: started again
    while int(pid_file.read_text()) == first and time.monotonic() < deadline:
        time.sleep(0.05)
    second = int(pid_file.read_text())
    assert second != first
    sup.send_signal(signal.SIGTERM)  # asked to stop: passed on, not restarted
    _, err = sup.communicate(timeout=15)
    assert sup.returncode == 128 + signal.SIGTERM
    assert "restart 1" in err and "restart 2" not in err
    with pytest.raises(ProcessLookupError):
        os.kill(second, 0)


def _wait_for(path: Path, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return path.read_text().strip()


def _gone(pid: int, timeout: float = 5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_a_stop_reaches_the_command_only_which_stops_its_children_itself(
    tmp_path: Path,
) -> None:
    """As Celery's warm shutdown: the worker is told, lets its pool child finish, then
    ends it. The child never gets the stop from the supervisor (a Celery pool child
    that does dies at once, with its task)."""
    told, child_pid = tmp_path / "child-told", tmp_path / "child.pid"
    child = (
        "import signal, sys, time\n"
        f"signal.signal(signal.SIGTERM, lambda *a: (open({str(told)!r}, 'w').write('x'), "
        "sys.exit(0)))\n"
        "time.sleep(300)\n"
    )
    leader = (
        f"{shlex.quote(sys.executable)} -c {shlex.quote(child)} & "
        f"echo $! > {child_pid}; "
        "trap 'kill -KILL \"$(cat " + str(child_pid) + ")\"; exit 0' TERM; "
        "while true; do sleep 0.1; done"
    )
    sup = _supervise(tmp_path, "sh", "-c", leader, stop_timeout="5")
    pid = int(_wait_for(child_pid))
    time.sleep(0.3)  # the child's handler is in place
    sup.send_signal(signal.SIGTERM)
    sup.communicate(timeout=15)
    assert sup.returncode == 0  # the command's own status
    assert _gone(pid)
    assert not told.exists()


def test_what_the_command_leaves_of_its_group_is_stopped_with_it(tmp_path: Path) -> None:
    child_pid = tmp_path / "child.pid"
    # sh dies of the SIGTERM at once and leaves its sleep running: the supervisor ends it.
    sup = _supervise(tmp_path, "sh", "-c", f"sleep 300 & echo $! > {child_pid}; wait")
    pid = int(_wait_for(child_pid))
    sup.send_signal(signal.SIGTERM)
    sup.communicate(timeout=15)
    assert sup.returncode == 128 + signal.SIGTERM
    assert _gone(pid)


def test_in_the_honcho_demo_one_crashing_process_does_not_stop_the_others(
    tmp_path: Path,
) -> None:
    honcho = Path(sys.executable).with_name("honcho")
    if not honcho.exists():
        pytest.skip("honcho is not installed")
    beats = tmp_path / "beats"
    procfile = tmp_path / "Procfile"
    procfile.write_text(
        f"crashes: {sys.executable} {SUPERVISE} crashes --backoff 0.2 -- sh -c 'exit 1'\n"
        f"steady: {sys.executable} {SUPERVISE} steady -- "
        f"sh -c 'while true; do echo x >> {beats}; sleep 0.2; done'\n"
    )
    demo = subprocess.Popen(
        [str(honcho), "start", "-f", str(procfile)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        time.sleep(3)
        assert demo.poll() is None, "honcho stopped everything"
        before = len(beats.read_text().splitlines())
        time.sleep(1)
        assert len(beats.read_text().splitlines()) > before  # the other one still works
    finally:
        os.killpg(demo.pid, signal.SIGTERM)
        out, _ = demo.communicate(timeout=20)
    assert "supervise[crashes]: exited with status 1" in out
