"""Helpers of the report tests: a small DOM for assertions, PNG bytes, and headless Chromium.

The report is meant to be opened in a browser from file://, so its tests load it in a real
one (Debian's `chromium`); tests skip with a reason where it is not installed.
"""

from __future__ import annotations

import html
import io
import json
import re
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from PIL import Image


class DOM(HTMLParser):
    """Just enough of a DOM for assertions: start tags with attributes, and the text."""

    def __init__(self, html_text: str):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.chunks: list[str] = []
        self.feed(html_text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)

    @property
    def text(self) -> str:
        return "".join(self.chunks)

    def find(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == tag and all(a.get(k.rstrip("_")) == v for k, v in attrs.items())]


def png(color: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 20), color).save(buf, format="PNG")
    return buf.getvalue()


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


needs_chromium = pytest.mark.skipif(chromium_path() is None,
                                    reason="chromium is not installed (CI: apt-get install -y chromium)")


def chromium(*args: str) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium with a throwaway profile and no network chatter."""
    exe = chromium_path()
    assert exe is not None
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
             "--enable-logging=stderr", "--v=0", *args],
            check=False, capture_output=True, text=True, timeout=90)


def run_harness(page: Path, script: str, tmp_path: Path, frame: tuple[int, int] | None = None) -> dict[str, Any]:
    """Load `page` in an iframe, run `script` (a JS function body with `d`, the page's document,
    returning a JSON-able value) once it has loaded, and return that value.

    file:// pages may script each other only with --allow-file-access-from-files; the result is
    written into the harness's own DOM, which --dump-dom prints. `frame` sizes the iframe (the
    page's viewport) for layout checks; by default it is the browser's small default iframe.
    """
    harness = tmp_path / f"harness-{page.stem}.html"
    size = f' style="width:{frame[0]}px;height:{frame[1]}px;border:0"' if frame else ""
    harness.write_text(
        '<!doctype html><html><body style="margin:0"><iframe id="f"%s src="%s"></iframe><pre id="out">not run</pre>'
        '<script>\n'
        'document.getElementById("f").onload = () => {\n'
        '  const d = document.getElementById("f").contentDocument;\n'
        '  let res; try { res = (() => { %s })(); } catch (e) { res = {error: String(e)}; }\n'
        '  document.getElementById("out").textContent = JSON.stringify(res);\n'
        '};\n</script></body></html>' % (size, page.as_uri(), script))
    window = [f"--window-size={frame[0] + 40},{frame[1] + 200}"] if frame else []
    driven = chromium("--allow-file-access-from-files", "--virtual-time-budget=5000", *window, "--dump-dom",
                      harness.as_uri())
    found = re.search(r'<pre id="out">(.*?)</pre>', driven.stdout, re.DOTALL)
    assert found and found.group(1) != "not run", f"the harness did not run: {driven.stderr[-2000:]}"
    result = json.loads(html.unescape(found.group(1)))
    assert not (isinstance(result, dict) and "error" in result), result
    return result


def screenshot(page: Path, shot: Path, size: tuple[int, int] = (1280, 1600)) -> Image.Image:
    """A screenshot of `page`, checked to be the size asked for and not blank."""
    done = chromium(f"--screenshot={shot}", f"--window-size={size[0]},{size[1]}", page.as_uri())
    assert shot.is_file(), done.stderr[-2000:]
    img = Image.open(shot).convert("RGB")
    assert img.size == size
    assert img.getpixel((5, 5)) == (0x1D, 0x23, 0x30)  # the header's colour: the inline CSS applied
    assert len(img.getcolors(maxcolors=1 << 16) or range(1 << 16)) > 50  # text and tables, not a blank page
    return img
