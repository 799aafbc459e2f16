#!/usr/bin/env python
"""Run one long-running process and start it again whenever it exits on its own.

    python scripts/supervise.py NAME [options] -- COMMAND [ARGS...]

The Procfiles run web, worker and beat through this. honcho (``make run``, ``honcho
start``) stops every process as soon as one exits, so without it one crashed process
(a worker that died with Redis, a gunicorn master killed by the OOM killer) took the
whole demo down with it; docker-compose does the same job with its restart policy.

- The command runs in its own process group. SIGTERM, SIGINT, SIGHUP and SIGQUIT are
  passed on to the command itself, not to its whole group: gunicorn and Celery then
  shut down warmly, letting their workers finish the request or the task at hand
  (a Celery pool child that gets SIGTERM dies at once, its task cut off). Once the
  command exits, so does this script, with its status; whatever it left of its group
  is sent SIGTERM. If it has not exited ``--stop-timeout`` seconds later, the group is
  killed.
- When the command exits without being asked to, the exit is logged (to stderr, one
  line) and the command started again after a pause: ``--backoff`` seconds, doubled
  after each exit that came less than ``--healthy`` seconds after its start, at most
  ``--backoff-max``; a run that lasted ``--healthy`` seconds resets it. It never gives
  up: a process that keeps failing keeps saying so, every ``--backoff-max`` seconds.
- On Linux the command is also told (SIGTERM) if this script dies without a word.
- ``--pid-file`` receives the command's process id at each start (the fault benchmark
  uses it to find whom to kill), written beside it and renamed into place.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT)
_PR_SET_PDEATHSIG = 1


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="supervise.py", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    p.add_argument("name", help="what the log lines call the process")
    p.add_argument("--backoff", type=float, default=1.0, help="first pause, seconds (1)")
    p.add_argument("--backoff-max", type=float, default=30.0, help="longest pause (30)")
    p.add_argument(
        "--healthy", type=float, default=60.0, help="a run this long resets the pause (60)"
    )
    p.add_argument(
        "--stop-timeout", type=float, default=30.0, help="wait this long after a stop signal"
    )
    p.add_argument("--pid-file", type=Path, help="write the command's pid here at each start")
    return p


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the supervisor dies (Linux only)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class Supervisor:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.name: str = args.name
        self.command: list[str] = args.command
        self.child: subprocess.Popen[bytes] | None = None
        self.stop_signal: int | None = None

    def log(self, message: str) -> None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        print(f"{stamp} supervise[{self.name}]: {message}", file=sys.stderr, flush=True)

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.stop_signal is None:
            self.stop_signal = signum
        if self.child is not None and self.child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.child.pid, signum)

    def signal_group(self, signum: int) -> None:
        """``signum`` to the command's process group: what is left of it, once the
        command has exited (its group id is its pid, ``start_new_session``)."""
        if self.child is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.child.pid, signum)

    def start(self) -> subprocess.Popen[bytes] | None:
        preexec = _die_with_parent if sys.platform.startswith("linux") else None
        try:
            child = subprocess.Popen(self.command, start_new_session=True, preexec_fn=preexec)
        except OSError as exc:
            self.log(f"could not start {self.command[0]!r}: {exc}")
            return None
        if self.args.pid_file:  # replaced whole: a reader never sees it half-written
            part = self.args.pid_file.with_name(self.args.pid_file.name + ".part")
            part.write_text(f"{child.pid}\n")
            os.replace(part, self.args.pid_file)
        return child

    def wait_child(self) -> int:
        """The child's exit status; after a stop signal, kills it once the timeout is up."""
        if self.child is None:
            return 127  # as a shell says of a command it cannot run
        deadline: float | None = None
        while True:
            try:
                status = self.child.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                pass
            else:
                self.signal_group(signal.SIGTERM)  # children it left behind
                return status
            if self.stop_signal is not None:
                deadline = deadline or time.monotonic() + self.args.stop_timeout
                if time.monotonic() > deadline:
                    self.log(f"still running {self.args.stop_timeout:g} s after the stop; killed")
                    self.signal_group(signal.SIGKILL)
                    deadline = float("inf")

    def pause(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while self.stop_signal is None and time.monotonic() < end:
            time.sleep(min(0.2, max(end - time.monotonic(), 0)))

    def run(self) -> int:
        for signum in FORWARDED:
            signal.signal(signum, self.on_signal)
        delay = self.args.backoff
        restarts = 0
        while True:
            started = time.monotonic()
            self.child = self.start()
            status = self.wait_child()
            if self.stop_signal is not None:
                # Asked to stop: its own status if it chose one, else the signal's.
                return status if status >= 0 else 128 - status
            ran = time.monotonic() - started
            if ran >= self.args.healthy:
                delay = self.args.backoff
            restarts += 1
            how = f"signal {-status}" if status < 0 else f"status {status}"
            self.log(
                f"exited with {how} after {ran:.1f} s; restarting in {delay:g} s "
                f"(restart {restarts})"
            )
            self.pause(delay)
            if self.stop_signal is not None:
                return 128 + self.stop_signal
            delay = min(delay * 2, self.args.backoff_max)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--" not in argv or argv.index("--") == len(argv) - 1:
        _parser().error("no command given (put it after --)")
    split = argv.index("--")
    args = _parser().parse_args(argv[:split])
    args.command = argv[split + 1 :]
    return Supervisor(args).run()


if __name__ == "__main__":
    sys.exit(main())
