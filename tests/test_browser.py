"""The explain report in a real browser: headless Chromium renders it; we read the rendered page and its pixels.

Skipped only where no Chromium binary exists; `.ci/run` installs Debian's `chromium` and sets
BOILERSTRIP_REQUIRE_CHROMIUM=1, so CI fails rather than skipping if the install went wrong.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cleaners.explain import category_colour, tint

from .conftest import SEEDS
from .test_cli import boilerstrip

SEED = SEEDS / "000_63e65c16875cff2e.txt"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
STARTUP_LIMIT_S = 120  # a safety net for a wedged browser, not a performance assertion

if CHROMIUM is None and os.environ.get("BOILERSTRIP_REQUIRE_CHROMIUM") == "1":
    raise RuntimeError("BOILERSTRIP_REQUIRE_CHROMIUM=1 but no chromium binary on PATH")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install chromium)")


class DevTools:
    """A minimal Chrome DevTools Protocol client over one page's websocket."""

    def __init__(self, ws_url: str) -> None:
        from websockets.sync.client import connect

        self.ws = connect(ws_url, max_size=None, open_timeout=STARTUP_LIMIT_S)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=STARTUP_LIMIT_S))
            if message.get("id") == self.next_id:
                assert "error" not in message, message
                return message["result"]  # type: ignore[no-any-return]
            self.events.append(message)

    def wait_for(self, method: str) -> dict[str, Any]:
        for event in self.events:
            if event.get("method") == method:
                return event
        while True:
            message = json.loads(self.ws.recv(timeout=STARTUP_LIMIT_S))
            self.events.append(message)
            if message.get("method") == method:
                return message

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in result, result
        return result["result"]["value"]


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevTools]:
    """Headless Chromium with its DevTools port open on a blank page."""
    assert CHROMIUM is not None
    profile = tmp_path_factory.mktemp("chromium-profile")
    proc = subprocess.Popen(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0",
         "--window-size=1200,2000", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + STARTUP_LIMIT_S
        while not port_file.exists() or not port_file.read_text().strip():
            assert proc.poll() is None, "chromium exited at start"
            assert time.monotonic() < deadline, "chromium did not open its DevTools port"
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=STARTUP_LIMIT_S) as reply:
            pages = [t for t in json.load(reply) if t["type"] == "page"]
        devtools = DevTools(pages[0]["webSocketDebuggerUrl"])
        yield devtools
        devtools.ws.close()
    finally:
        proc.terminate()
        proc.wait(timeout=STARTUP_LIMIT_S)


@pytest.fixture(scope="module")
def rendered(browser: DevTools, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The seed's report, written by the CLI as a user would, opened in Chromium; what the page shows."""
    report = tmp_path_factory.mktemp("report") / "x.html"
    made = boilerstrip("explain", str(SEED), "--html", str(report))
    assert made.returncode == 0, made.stderr
    browser.call("Network.enable")
    browser.call("Page.enable")
    browser.call("Page.navigate", url=report.as_uri())
    browser.wait_for("Page.loadEventFired")
    page = browser.evaluate("""(() => {
      const box = el => { const r = el.getBoundingClientRect();
        return {x: r.x + scrollX, y: r.y + scrollY, width: r.width, height: r.height}; };
      const look = el => { const s = getComputedStyle(el);
        return {color: s.color, background: s.backgroundColor, decoration: s.textDecorationLine,
                display: s.display, visibility: s.visibility, box: box(el)}; };
      const legend = document.querySelector('#legend');
      return {
        legend: {...look(legend), text: legend.innerText},
        swatches: [...legend.querySelectorAll('tr[data-category] .swatch')].map(
          s => ({category: s.closest('tr').dataset.category, ...look(s)})),
        cuts: [...document.querySelectorAll('#capture del')].map(d => ({
          category: d.dataset.category, rule: d.dataset.rule, title: d.title, text: d.textContent,
          ...look(d), lines: d.getClientRects().length})),
        pageHeight: document.documentElement.scrollHeight,
      };
    })()""")
    page["requests"] = [e["params"]["request"]["url"] for e in browser.events
                        if e.get("method") == "Network.requestWillBeSent"]
    page["report"] = report
    return page


def rgb(colour: str) -> str:
    """#rrggbb as the browser's computed-style form."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def screenshot(browser: DevTools, box: dict[str, float]) -> Any:
    """The pixels of one region of the page (beyond the viewport if need be), as a Pillow image."""
    from PIL import Image

    clip = {"x": box["x"], "y": box["y"], "width": box["width"], "height": box["height"], "scale": 1}
    shot = browser.call("Page.captureScreenshot", format="png", clip=clip, captureBeyondViewport=True)
    import base64

    return Image.open(io.BytesIO(base64.b64decode(shot["data"]))).convert("RGB")


def near(pixel: tuple[int, int, int], colour: str, tolerance: int = 40) -> bool:
    target = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    return all(abs(p - t) <= tolerance for p, t in zip(pixel, target, strict=True))


def test_the_page_loads_nothing_but_itself(rendered: dict[str, Any]) -> None:
    assert rendered["requests"] == [rendered["report"].as_uri()]


def test_legend_is_shown_with_each_category_in_its_colour(rendered: dict[str, Any]) -> None:
    legend = rendered["legend"]
    assert legend["display"] != "none" and legend["visibility"] == "visible"
    assert legend["box"]["width"] > 300 and legend["box"]["height"] > 100
    assert "donation_appeal" in legend["text"] and "1711" in legend["text"]
    swatches = {s["category"]: s for s in rendered["swatches"]}
    for category in ("donation_appeal", "photo_caption", "adblock_notice"):
        swatch = swatches[category]
        assert swatch["color"] == rgb(category_colour(category))
        assert swatch["background"] == rgb(tint(category_colour(category)))
        assert "line-through" in swatch["decoration"]


def test_the_cuts_are_struck_through_in_their_categories_colours(rendered: dict[str, Any]) -> None:
    cuts = rendered["cuts"]
    assert len(cuts) == 13
    wanted = {"donation_appeal": "Become a Patron!", "photo_caption": "photo via Wikimedia.",
              "adblock_notice": "disabling your ad blocker"}
    for category, phrase in wanted.items():
        [cut] = [c for c in cuts if c["category"] == category and phrase in c["text"]][:1]
        assert "line-through" in cut["decoration"], cut
        assert cut["color"] == rgb(category_colour(category))
        assert cut["background"] == rgb(tint(category_colour(category)))
        assert cut["rule"] in cut["title"]  # the tooltip names the rule
        assert cut["box"]["width"] > 0 and cut["box"]["height"] > 0


def test_pixels_show_the_strike_line_and_colours(browser: DevTools, rendered: dict[str, Any],
                                                 tmp_path: Path) -> None:
    appeal = next(c for c in rendered["cuts"] if c["category"] == "donation_appeal")
    assert appeal["lines"] >= 3  # a long paragraph, wrapped
    image = screenshot(browser, appeal["box"])
    keep = os.environ.get("BOILERSTRIP_SCREENSHOT_DIR")
    if keep:
        image.save(Path(keep) / "donation_appeal.png")
    colour = category_colour("donation_appeal")
    width, height = image.size
    pixels = image.load()
    tinted = sum(near(pixels[x, y], tint(colour), 12) for x in range(0, width, 3) for y in range(0, height, 3))
    assert tinted > 0.3 * (width // 3) * (height // 3), "the cut's background colour is not painted"
    # A strike line is a long horizontal run of the category colour; glyphs never make one.
    def longest_run(y: int) -> int:
        best = run = 0
        for x in range(width):
            run = run + 1 if near(pixels[x, y], colour) else 0
            best = max(best, run)
        return best
    assert max(longest_run(y) for y in range(height)) > width * 0.5, "no strike-through line in the pixels"

    swatch = next(s for s in rendered["swatches"] if s["category"] == "donation_appeal")
    legend_image = screenshot(browser, swatch["box"])
    lw, lh = legend_image.size
    legend_pixels = legend_image.load()
    assert any(near(legend_pixels[x, y], tint(colour), 12) for x in range(lw) for y in range(lh))
    assert any(near(legend_pixels[x, y], colour) for x in range(lw) for y in range(lh))


def test_kept_text_only_toggle_hides_every_cut(browser: DevTools, rendered: dict[str, Any]) -> None:
    hidden = browser.evaluate("""(() => {
      document.querySelector('#hide-removed').click();
      const shown = [...document.querySelectorAll('#capture del')].filter(d => getComputedStyle(d).display !== 'none');
      const height = document.documentElement.scrollHeight;
      document.querySelector('#hide-removed').click();
      return {shown: shown.length, height};
    })()""")
    assert hidden["shown"] == 0 and hidden["height"] < rendered["pageHeight"]


def test_command_line_screenshot_as_documented(tmp_path: Path, rendered: dict[str, Any]) -> None:
    """The one-line check in docs/for-nlp-teams.md: chromium --screenshot gives a 1200×2000 PNG."""
    from PIL import Image

    assert CHROMIUM is not None
    png = tmp_path / "x.png"
    result = subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={png}",
         "--window-size=1200,2000", rendered["report"].as_uri()],
        capture_output=True, text=True, timeout=STARTUP_LIMIT_S)
    assert result.returncode == 0, result.stderr[-2000:]
    image = Image.open(png).convert("RGB")
    assert image.size == (1200, 2000)
    # The top of the page holds the legend: the swatch colours must be among its pixels.
    colours = {pixel for _, pixel in image.crop((0, 0, 1200, 1000)).getcolors(1200 * 1000)}
    for category in ("headline", "photo_caption", "donation_appeal"):
        assert any(near(p, tint(category_colour(category)), 6) for p in colours), category
