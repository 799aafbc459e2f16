"""A single background thread that runs callbacks after a delay (reviews, statuses, retries)."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self) -> None:
        self._heap: list[tuple[float, int, int, Callable[[], None]]] = []
        self._cond = threading.Condition()
        self._seq = itertools.count()
        self._generation = 0
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="mock-meta-scheduler", daemon=True)
        self._thread.start()

    def call_later(self, delay: float, func: Callable[[], None]) -> None:
        with self._cond:
            when = time.monotonic() + max(0.0, delay)
            heapq.heappush(self._heap, (when, next(self._seq), self._generation, func))
            self._cond.notify()

    def cancel_all(self) -> None:
        """Drop every pending callback (used by /_mock/reset)."""
        with self._cond:
            self._generation += 1
            self._heap.clear()
            self._cond.notify()

    def pending(self) -> int:
        with self._cond:
            return len(self._heap)

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()
        self._thread.join(timeout=2)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped:
                    if not self._heap:
                        self._cond.wait()
                        continue
                    wait = self._heap[0][0] - time.monotonic()
                    if wait <= 0:
                        break
                    self._cond.wait(timeout=wait)
                if self._stopped:
                    return
                _, _, generation, func = heapq.heappop(self._heap)
                if generation != self._generation:
                    continue
            try:
                func()
            except Exception:  # a failing callback must not stop the scheduler
                log.exception("scheduled callback failed")
