"""Screenshots of the valuation page at desktop and phone width, and the live service helper.

``python -m estimo.serve.page.screenshots docs/`` trains a small synthetic model, starts the
service with uvicorn on a free local port, fills the form in headless Chromium (Playwright
driving the system browser, ``/usr/bin/chromium`` by default; none is downloaded) and writes
``page-form-<width>.png`` (the city chosen: its neighbourhoods and pin map shown) and
``page-answer-<width>.png`` (:data:`SCREENSHOT_FORM`, with coordinates: the comparables'
map shown) into the folder. The browser tests
use :func:`running_service` and :func:`synthetic_bundle` too.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

__all__ = [
    "CHROMIUM",
    "EXAMPLE_FORM",
    "EXTRA_FIELDS",
    "SCREENSHOT_FORM",
    "SIZES",
    "fill_form",
    "main",
    "running_service",
    "synthetic_bundle",
    "take_screenshots",
]

CHROMIUM = os.environ.get("ESTIMO_CHROMIUM", "/usr/bin/chromium")
"""The browser Playwright drives (Debian's chromium package)."""
EXTRA_FIELDS: tuple[str, ...] = ("has_elevator", "has_terrace", "floors_in_building")
"""The synthetic market's amenity columns the service is told to accept."""
SIZES: dict[str, tuple[int, int]] = {"desktop": (1280, 900), "phone": (390, 844)}
EXAMPLE_FORM: dict[str, str] = {
    "city": "Milano",
    "area_m2": "85",
    "rooms": "3",
    "bathrooms": "1",
    "floor": "2",
    "property_type": "flat",
    "condition": "good",
    "year_built": "1965",
    "has_elevator": "yes",
}
SCREENSHOT_FORM: dict[str, str] = {
    **EXAMPLE_FORM,
    "neighbourhood": "Milano-03",
    "lat": "45.47",
    "lon": "9.19",
}
"""The screenshots' home: :data:`EXAMPLE_FORM` with its neighbourhood and coordinates."""


def synthetic_bundle(folder: Path, rows: int = 1_200, seed: int = 3) -> Path:
    """Train a small engine on the synthetic market and save it to ``folder``."""
    from estimo.model.avm import AVM
    from estimo.model.bundle import save_model
    from estimo.synth import generate_market

    frame = generate_market(rows, seed=seed, faults=False).frame
    model = AVM(n_estimators=15, min_city_rows=300, n_jobs=1, currency="EUR").fit(frame)
    save_model(model, str(folder))
    return folder


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_service(
    model: Path,
    extra_fields: Sequence[str] = EXTRA_FIELDS,
    visit_url: str | None = "https://example.org/visit",
    timeout: float = 60.0,
) -> Iterator[str]:
    """The service (uvicorn, one worker) on a free 127.0.0.1 port; yields its base URL.

    Raises
    ------
    RuntimeError
        If ``/readyz`` does not answer 200 within ``timeout`` seconds (with the log's tail).
    """
    import json

    port = _free_port()
    env = {
        **os.environ,
        "ESTIMO_SERVE__MODEL": str(model),
        "ESTIMO_SERVE__ALIAS_POLL_SECONDS": "0",
        # a local service for the tests and screenshots: the API answers without a key, at
        # the public tier like the page, with limits a test's quick submissions stay under
        "ESTIMO_SERVE__GUARD__ANONYMOUS_TIER": "public",
        "ESTIMO_SERVE__GUARD__KEY_LIMITS": json.dumps({"public": "1000/second"}),
        "ESTIMO_SERVE__GUARD__ADDRESS_LIMIT": "1000/second",
        "ESTIMO_SERVE__EXTRA_FIELDS": json.dumps(list(extra_fields)),
    }
    if visit_url:
        env["ESTIMO_SERVE__PAGE_VISIT_URL"] = visit_url
    command = [sys.executable, "-m", "uvicorn", "estimo.serve.main:app_from_env", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    with tempfile.TemporaryFile() as logfile:
        process = subprocess.Popen(command, env=env, stdout=logfile, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout
            while not _ready(base):
                if process.poll() is not None or time.monotonic() > deadline:
                    logfile.seek(0)
                    tail = logfile.read().decode(errors="replace")[-2000:]
                    raise RuntimeError(f"the service at {base} never became ready:\n{tail}")
                time.sleep(0.2)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _ready(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/readyz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def fill_form(page: Any, values: Mapping[str, str], unknown: Sequence[str] = ()) -> None:
    """Fill the page's form as an owner would (selects by value, the rest typed)."""
    for name, value in values.items():
        locator = page.locator(f"#f-{name}")
        if locator.evaluate("el => el.tagName") == "SELECT":
            locator.select_option(value)
        else:
            locator.fill(value)
    for name in unknown:
        page.locator(f"input[name='{name}__unknown']").check()


def take_screenshots(
    base: str, folder: Path, chromium: str = CHROMIUM, browser: Any = None
) -> list[Path]:
    """The form and the answer at every width of :data:`SIZES`, as PNG files in ``folder``.

    ``browser``: a running Playwright browser to use (default: launch ``chromium``).
    """
    if browser is not None:
        return _screenshots(base, folder, browser)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium)
        try:
            return _screenshots(base, folder, launched)
        finally:
            launched.close()


def _screenshots(base: str, folder: Path, browser: Any) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (width, height) in SIZES.items():
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(f"{base}/?lang=en")
        page.locator("#f-city").select_option(SCREENSHOT_FORM["city"])
        path = folder / f"page-form-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        written.append(path)
        fill_form(page, SCREENSHOT_FORM)
        page.locator("#submit").click()
        page.wait_for_selector("#answer")
        path = folder / f"page-answer-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        written.append(path)
        page.close()
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m estimo.serve.page.screenshots FOLDER``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="where the PNG files go (e.g. docs/)")
    parser.add_argument("--chromium", default=CHROMIUM, help="the browser executable")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with tempfile.TemporaryDirectory() as tmp:
        model = synthetic_bundle(Path(tmp) / "model")
        with running_service(model) as base:
            for path in take_screenshots(base, args.folder, args.chromium):
                log.info("wrote %s", path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
