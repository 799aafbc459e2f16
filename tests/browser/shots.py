"""Screenshots of a page as its users see it, checked on the way: at 1280 and 390 px,
nothing scrolls sideways and axe finds nothing, then a full-page PNG per width."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.browser.test_accessibility import axe_violations, describe

WIDTHS = (1280, 390)


def overflow(page: Any) -> int:
    """How far the page scrolls sideways (0 or less: not at all)."""
    return int(
        page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    )


def shoot(page: Any, folder: Path, name: str) -> None:
    """``name``-<width>.png in ``folder`` at each width, after the checks; back to 1280."""
    folder.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(150)
        assert overflow(page) <= 0, f"{name} scrolls sideways at {width}px"
        found = axe_violations(page)
        assert found == [], [describe(name, width, v) for v in found]
        page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})
