"""What every phone-sized journey checks on a page."""

from __future__ import annotations

from typing import Any


def fits(page: Any) -> bool:
    """Nothing wider than the phone's screen (no sideways scrolling).

    Waits for the page to finish loading first: a click that navigates returns before
    the next document exists, and measuring then reads an empty document.
    """
    page.wait_for_load_state("load")
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))
