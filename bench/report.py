"""The results as a table (stdout and a .txt file) and as JSON, with each goal met or not;
and the fault run's table (:func:`faults_table`)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

# Meta's sizing rule for one phone number at 80 messages/s.
E2E_MIN_EVENTS_PER_S = 264.0
INTAKE_MIN_RATIO = 0.5
INTAKE_MAX_P99_MS = 1000.0
E2E_MIN_RATIO = 1.0
BUSY_WARNING = 0.15  # share of all CPUs busy outside the bench that makes figures suspect


def _yes(ok: bool | None) -> str:
    return "n/a" if ok is None else ("yes" if ok else "NO")


def goals(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each goal of the issue: the figure, the bar, and whether the run met it."""
    out: list[dict[str, Any]] = []

    def add(name: str, figure: str, ok: bool | None) -> None:
        out.append({"goal": name, "figure": figure, "met": ok})

    intake = results.get("intake")
    if intake:
        add(
            f"intake >= {INTAKE_MIN_RATIO}x hello-world requests/s",
            f"{intake['ratio']:.2f}x",
            intake["ratio"] >= INTAKE_MIN_RATIO and not intake["intake"]["errors"],
        )
        p99 = intake["intake"]["p99_ms"]
        add("intake p99 < 1 s at that load", f"{p99:.0f} ms", p99 < INTAKE_MAX_P99_MS)
    baseline = results.get("baseline")
    for e2e in results.get("e2e") or []:
        if not baseline:
            break
        ratio = e2e["events_per_s"] / baseline["rows_per_s"] if baseline["rows_per_s"] else 0.0
        e2e["ratio_to_baseline"] = ratio
        add(
            f"end to end ({e2e['batching']}) >= {E2E_MIN_RATIO}x baseline",
            f"{ratio:.2f}x",
            e2e["complete"] and ratio >= E2E_MIN_RATIO,
        )
        add(
            f"end to end ({e2e['batching']}) >= {E2E_MIN_EVENTS_PER_S:.0f} events/s",
            f"{e2e['events_per_s']:.0f}/s",
            e2e["complete"] and e2e["events_per_s"] >= E2E_MIN_EVENTS_PER_S,
        )
    replay = results.get("replay")
    if replay:
        runs = [replay["on_top"], replay["from_scratch"]]
        dups = sum(
            r["duplicate_messages"] + r["extra_messages"] + r["extra_status_events"] for r in runs
        )
        downgrades = sum(r["status_downgrades"] for r in runs)
        identical = all(r["identical"] for r in runs) and replay["in_order"]["matches_expected"]
        add("replay: duplicates 0", str(dups), replay["complete"] and dups == 0)
        add("replay: status downgrades 0", str(downgrades), replay["complete"] and downgrades == 0)
        add(
            "replay: final state identical to in-order",
            "identical" if identical else "DIFFERENT",
            replay["complete"] and identical,
        )
    return out


def _busy(meta: dict[str, Any]) -> bool:
    # Only before: right after, PostgreSQL is still busy with the run's own writes.
    return bool(meta["cpu_busy_before"] > BUSY_WARNING)


def _num(value: float, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:,.{digits}f}"


def table(results: dict[str, Any]) -> str:
    meta = results["meta"]
    lines = [
        f"WABA Portal webhook benchmark  {meta['started']}  ({meta['mode']})",
        f"machine: {meta['cpus']} CPUs, PostgreSQL {meta['postgres']}, Python {meta['python']}",
        f"server:  {meta['server']}",
        f"worker:  {meta['worker']}",
        f"load:    {meta['load']}",
        f"machine busy before / after the run: {meta['cpu_busy_before']:.0%} / "
        f"{meta['cpu_busy_after']:.0%} of all CPUs"
        + ("  ** WARNING: busy before the run, figures are skewed **" if _busy(meta) else ""),
        "",
    ]
    intake = results.get("intake")
    if intake:
        phases = [intake["hello"], intake["intake"], intake["via_django"]]

        def row(label: str, cells: list[str]) -> str:
            return f"  {label:28}" + "".join(f"{c:>14}" for c in cells)

        lines += [
            "Intake (same gunicorn, same load, "
            f"{intake['rounds']} rounds of {intake['seconds_per_phase']:g} s phases in turn)",
            row("", ["hello-world", "webhook", "via Django"]),
            row("requests/s", [_num(p["rps"]) for p in phases]),
            row(
                "ratio to hello-world",
                ["", f"{intake['ratio']:.2f}x", f"{intake['ratio_via_django']:.2f}x"],
            ),
            row("p50 latency (ms)", [_num(p["p50_ms"]) for p in phases]),
            row("p99 latency (ms)", [_num(p["p99_ms"]) for p in phases]),
            row("max latency (ms)", [_num(p["max_ms"]) for p in phases]),
            row("requests (errors)", [f"{p['requests']} ({p['errors']})" for p in phases]),
            row(
                "load generator CPU share",
                [_num(p["loadgen_cpu_share"] * 100) + "%" for p in phases],
            ),
            "  webhook: the production path (answered in front of Django's middleware);",
            "  via Django: the same view behind every middleware, for comparison",
            f"  deliveries stored = 200 answers: {_yes(intake['stored_matches_answers'])} "
            f"({intake['stored_deliveries']}); body {intake['bytes_per_body_avg']:.0f} B avg",
            "",
        ]
    baseline = results.get("baseline")
    if baseline:
        lines += [
            "Baseline: single-row INSERT loop (autocommit, one row per statement, "
            "inbox_message shape)",
            f"  {baseline['rows']} rows in {baseline['seconds']:.2f} s = "
            f"{_num(baseline['rows_per_s'])} rows/s",
            "",
        ]
    for e2e in results.get("e2e") or []:
        lines += [
            f"End to end, batching {e2e['batching']} "
            "(POST -> stored -> queue -> worker -> inbox rows and change outcomes)",
            f"  {e2e['events']} events in {e2e['deliveries']} deliveries "
            f"({e2e['events_per_delivery']:.2f} events/delivery, {e2e['changes']} changes)",
            f"  complete: {_yes(e2e['complete'])} {e2e['detail']}",
            f"  first POST to last row: {e2e['seconds']:.2f} s = "
            f"{_num(e2e['events_per_s'])} events/s"
            + (
                f"  ({e2e['ratio_to_baseline']:.2f}x baseline)"
                if "ratio_to_baseline" in e2e
                else ""
            ),
            f"  intake part: {e2e['intake_seconds']:.2f} s, {_num(e2e['intake_rps'])} POST/s, "
            f"p99 {_num(e2e['intake_p99_ms'])} ms, errors {e2e['post_errors']}; "
            f"worker finished {e2e['drain_after_last_post_s']:.2f} s after the last POST",
            f"  tasks still queued when every row was written: {e2e['tasks_queued_when_done']}",
            "",
        ]
    replay = results.get("replay")
    if replay:
        lines += [
            f"Replay ({replay['events']} events, {replay['deliveries']} deliveries; "
            f"redelivered 3x as {replay['redelivery_posts']} POSTs: "
            f"{replay['identical_copies']} identical, {replay['split_posts']} split, "
            f"{replay['merged_posts']} merged; shuffled)",
            f"  in order: {replay['in_order']['messages']} messages, "
            f"{replay['in_order']['status_events']} status events, as expected: "
            f"{_yes(replay['in_order']['matches_expected'])}",
            f"  {'':28}{'on top':>14}{'from scratch':>14}",
        ]
        for key, label in (
            ("messages", "messages"),
            ("duplicate_messages", "duplicate messages"),
            ("extra_messages", "extra messages"),
            ("missing_messages", "missing messages"),
            ("extra_status_events", "extra status events"),
            ("status_downgrades", "status downgrades"),
            ("identical", "state identical"),
            ("duplicates_answered_by_dedup", "answered by intake dedup"),
        ):
            a, b = replay["on_top"][key], replay["from_scratch"][key]
            if isinstance(a, bool):
                a, b = _yes(a), _yes(b)
            lines.append(f"  {label:28}{a!s:>14}{b!s:>14}")
        if replay["detail"]:
            lines.append(f"  problems: {replay['detail']}")
        lines.append("")
    lines.append("Goals")
    for g in results["goals"]:
        lines.append(f"  {g['goal']:50}{g['figure']:>12}  {_yes(g['met'])}")
    return "\n".join(lines) + "\n"


def faults_table(results: dict[str, Any]) -> str:
    """The fault run (bench/faults.py): what broke, and what became of every POST."""
    meta, out = results["meta"], results["outcome"]
    first = results["first_pass"]
    lines = [
        f"WABA Portal webhook pipeline under faults  {meta['started']}  ({meta['mode']})",
        f"machine: {meta['cpus']} CPUs, Python {meta['python']}",
        f"server:  {meta['server']}",
        f"worker:  {meta['worker']}",
        f"redis:   {meta['redis']}",
        f"load:    {meta['load']}",
        "",
        "Faults (seconds after the load started; back: serving again; drained: every "
        "delivery stored until then processed)",
    ]
    for f in results["faults"]:
        back = f["recovered_after_s"]
        lines.append(
            f"  {f['at_s']:>6.1f} s  {f['fault']:13}{f['detail']}"
            + ("; NOT back" if back is None else f"; back after {back:.1f} s")
            + f"; drained {f['backlog_drained_after_s']:.1f} s later"
        )
    statuses = ", ".join(f"{k}: {v}" for k, v in first["statuses"].items()) or "none"
    lines += [
        "",
        f"POSTs, first pass: {first['posts']} sent, {first['answered_200']} answered 200 "
        f"(statuses {statuses}); {first['not_answered']} not answered 200"
        + (f" (first: {first['first_error']})" if first["first_error"] else ""),
    ]
    for i, r in enumerate(results["redelivery_rounds"], 1):
        lines.append(
            f"  redelivered as Meta would, round {i}: {r['posts']} POSTs, "
            f"{r['answered_200']} answered 200"
        )
    by_status = ", ".join(f"{k} {v}" for k, v in out["stuck_by_status"].items())
    state = out["events_state"]
    lines += [
        "",
        f"  {'bodies (deliveries)':36}{out['bodies']:>10}",
        f"  {'answered 200 (at least once)':36}{out['answered_200']:>10}",
        f"  {'never answered 200':36}{out['never_answered']:>10}",
        f"  {'stored once (of those answered 200)':36}{out['stored_once']:>10}",
        f"  {'answered 200 but not stored (lost)':36}{out['lost']:>10}",
        f"  {'events doubled':36}{out['doubled']:>10}",
        f"  {'stuck (not processed at the end)':36}{out['stuck']:>10}"
        + (f"  ({by_status})" if by_status else ""),
        f"  events: {state['changes_processed']} changes processed, "
        f"{state['status_events']} status events, {state['inbound']} inbound; "
        f"as expected: {_yes(out['state_as_expected'])}",
        "",
        f"Drained: {_yes(results['drained'])}; what was stored before the end of the last "
        f"fault was processed {results['drain_after_last_fault_s']:.1f} s after it; "
        f"everything {results['drain_after_last_post_s']:.1f} s after the last POST",
        "Stored to processed: longest {all_max_s:.1f} s (p99 {all_p99_s:.1f} s); of those "
        "stored after the last fault, longest {after_last_fault_max_s:.1f} s "
        "(p99 {after_last_fault_p99_s:.1f} s)".format(**results["waits"]),
        "What the logs said (ERROR lines / tracebacks / unrecoverable / restarts / "
        "database reconnects)",
    ]
    for name, c in results["logs_said"].items():
        lines.append(
            f"  {name:8}{c['error_lines']:>6}{c['tracebacks']:>6}{c['unrecoverable']:>6}"
            f"{c['restarts']:>6}{c['db_reconnects']:>6}"
        )
    lines.append(f"logs: {meta['logs']}")
    return "\n".join(lines) + "\n"


def write(
    results: dict[str, Any], text: str, directory: Path, stamp: str, name: str = "bench"
) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / f"{name}-{stamp}.json"
    text_path = directory / f"{name}-{stamp}.txt"
    json_path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    text_path.write_text(text)
    return [json_path, text_path]
