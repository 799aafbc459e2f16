"""The fault run's counting and report (bench/faults.py), on tiny made-up inputs.

The run itself (``make faults``) is not part of the suite: it kills servers.
"""

from __future__ import annotations

from bench import faults, report


def test_the_faults_come_in_order_within_the_load() -> None:
    plan = faults.fault_plan(100.0)
    assert [name for name, _ in plan] == list(faults.FAULTS)
    times = [at for _, at in plan]
    assert times == sorted(times) and times[0] > 0 and times[-1] < 100.0


def test_the_tally_tells_answered_stored_lost_doubled_and_stuck_apart() -> None:
    bodies = [b"a", b"b", b"c", b"d"]
    digest = faults.body_digest
    state = {"changes_processed": 3, "status_events": 5, "inbound": 2, "outbound": {}}
    expected = {"changes_processed": 4, "status_events": 4, "inbound": 2, "outbound": {}}
    out = faults.tally(
        bodies=bodies,
        answered={0, 1, 2},  # d never answered 200
        stored={digest(b"a"): "processed", digest(b"b"): "received", digest(b"d"): "processed"},
        state=state,
        expected=expected,
        status_events=5,
        distinct_status_events=4,
    )
    assert out["answered_200"] == 3 and out["never_answered"] == 1
    assert out["stored"] == 3 and out["stored_once"] == 2
    assert out["lost"] == 1  # c: answered 200, not stored
    assert out["doubled"] == 1  # one status event twice
    assert (out["stuck"], out["stuck_by_status"]) == (1, {"received": 1})
    assert out["state_as_expected"] is False


def test_the_log_counts_read_celery_and_the_supervisor() -> None:
    log = "\n".join(
        [
            "2026-12-01 22:44:06,810 ERROR celery.worker.request Task handler raised error",
            "Traceback (most recent call last):",
            "2026-12-01 22:44:07 supervise[worker]: exited with signal 9 after 8.4 s; "
            "restarting in 1 s (restart 1)",
            "2026-12-01 22:44:13,917 WARNING waba_portal.webhooks.services.drain database "
            "connection lost while processing webhooks (OperationalError: x); reconnecting",
            "[2026-12-01 22:08:46,322: CRITICAL/MainProcess] Unrecoverable error: AttributeError",
        ]
    )
    assert faults.log_counts(log) == {
        "error_lines": 1,
        "tracebacks": 1,
        "unrecoverable": 1,
        "restarts": 1,
        "db_reconnects": 1,
    }


def test_the_report_shows_every_fault_and_every_count() -> None:
    outcome = faults.tally(
        bodies=[b"a"],
        answered={0},
        stored={faults.body_digest(b"a"): "processed"},
        state={"changes_processed": 1, "status_events": 1, "inbound": 0, "outbound": {}},
        expected={"changes_processed": 1, "status_events": 1, "inbound": 0, "outbound": {}},
        status_events=1,
        distinct_status_events=1,
    )
    results = {
        "meta": {
            "started": "20260101-000000",
            "mode": "quick",
            "cpus": 2,
            "python": "3.11",
            "server": "gunicorn",
            "worker": "celery",
            "redis": "own",
            "load": "1 POST",
            "logs": "/tmp/x",
        },
        "first_pass": {
            "posts": 2,
            "answered_200": 1,
            "statuses": {"200": 1},
            "not_answered": 1,
            "first_error": "ConnectionRefusedError",
            "seconds": 1.0,
        },
        "redelivery_rounds": [{"posts": 1, "answered_200": 1}],
        "faults": [
            {
                "fault": name,
                "at_s": at,
                "detail": f"{name} broken",
                "recovered_after_s": 1.0,
                "backlog_drained_after_s": 2.5,
            }
            for name, at in faults.fault_plan(10.0)
        ],
        "outcome": outcome,
        "drained": True,
        "drain_after_last_fault_s": 3.2,
        "drain_after_last_post_s": 0.4,
        "waits": {
            "all_max_s": 4.0,
            "all_p99_s": 1.0,
            "after_last_fault_max_s": 0.5,
            "after_last_fault_p99_s": 0.2,
        },
        "logs_said": {"worker": faults.log_counts("")},
    }
    text = report.faults_table(results)
    for name in faults.FAULTS:
        assert f"{name} broken; back after 1.0 s; drained 2.5 s later" in text
    for label in (
        "answered 200 (at least once)",
        "stored once (of those answered 200)",
        "answered 200 but not stored (lost)",
        "events doubled",
        "stuck (not processed at the end)",
    ):
        assert label in text
    assert "redelivered as Meta would, round 1: 1 POSTs, 1 answered 200" in text
    assert "Drained: yes; what was stored before the end of the last fault was processed " in text
    assert "3.2 s after it; everything 0.4 s after the last POST" in text
    assert "longest 4.0 s (p99 1.0 s)" in text
