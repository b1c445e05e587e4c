"""Videos cgan writes, played in a real browser (Debian's chromium, headless): the colours a viewer sees are
the colours translated. Untagged HD video is decoded by browsers with BT.709's matrix, which shifted a 720p
translation by up to 23 levels; cgan converts with BT.601's and says so in the stream."""
from __future__ import annotations

import html
import json
import re
import subprocess

import av
import numpy as np

from hostile_onnx import identity
from test_report_browser import CHROMIUM, HEADLESS, pytestmark  # noqa: F401 - the same browser, or the same skip

# The page shows the first frame, draws it on a canvas and records the pixels at the points in its URL.
PAGE = """<!doctype html><html><body><video id="v" muted playsinline src="out.mp4"></video><canvas id="c"></canvas>
<script>
const points = JSON.parse(decodeURIComponent(location.hash.slice(1)));
const v = document.getElementById("v");
const report = (value) => document.body.setAttribute("data-pixels", JSON.stringify(value));
// At "loadeddata" the first frame is current. (A seek to 0 first never finishes in headless Chromium 150: no
// "seeked".) Headless chromium may still draw black at first; no stripe is black, so it draws again until the
// frame is there (a video that stays black never reports, and the test fails).
v.addEventListener("loadeddata", draw);
function draw() {
  const canvas = document.getElementById("c");
  canvas.width = v.videoWidth;
  canvas.height = v.videoHeight;
  const context = canvas.getContext("2d", {colorSpace: "srgb"});
  context.drawImage(v, 0, 0);
  const pixels = points.map(([x, y]) => Array.from(context.getImageData(x, y, 1, 1).data.slice(0, 3)));
  if (pixels.every(p => p.every(value => value === 0))) setTimeout(draw, 50);
  else report(pixels);
}
v.addEventListener("error", () => report({error: v.error.code}));
</script></body></html>"""
COLOURS = [(140, 64, 109), (200, 30, 40), (30, 180, 60), (40, 60, 200), (230, 220, 90), (90, 200, 210)]


def _stripes(path, width: int, height: int) -> None:
    """A lossless clip of vertical stripes of ``COLOURS`` (wide, so that 4:2:0 does not mix them)."""
    frame = np.zeros((height, width, 3), np.uint8)
    for i, colour in enumerate(COLOURS):
        frame[:, i * width // len(COLOURS):(i + 1) * width // len(COLOURS)] = colour
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=12)
        stream.width, stream.height, stream.pix_fmt = width, height, "bgr0"
        for i in range(3):
            picture = av.VideoFrame.from_ndarray(frame, format="rgb24")
            picture.pts = i
            container.mux(stream.encode(picture))
        container.mux(stream.encode(None))


def _pixels(page, points: list, tmp_path, attempts: int = 3):
    """What the page recorded. Headless chromium now and then dumps the DOM before the page has written its result
    (as the report's browser test found), so a missing result is retried, each time with a fresh profile."""
    for attempt in range(attempts):
        done = subprocess.run([CHROMIUM, *HEADLESS, "--allow-file-access-from-files",
                               f"--user-data-dir={tmp_path / f'profile{attempt}'}", "--virtual-time-budget=10000",
                               "--dump-dom", page.as_uri() + "#" + json.dumps(points)],
                              capture_output=True, text=True, timeout=120)
        found = re.search(r'data-pixels="([^"]*)"', done.stdout)
        if found:
            return json.loads(html.unescape(found.group(1)))
    raise AssertionError(f"no pixels recorded in {attempts} attempts: {done.stderr[-2000:]}")


def test_a_720p_translation_shows_its_colours_in_chromium(tmp_path):
    from cgan.apps.translate import translate

    _stripes(tmp_path / "stripes.mkv", 1280, 720)
    translate(identity(tmp_path / "same.onnx"), str(tmp_path / "stripes.mkv"), str(tmp_path / "out.mp4"),
              progress=False, backend="onnxruntime")  # the identity: the output should look like the source
    (tmp_path / "page.html").write_text(PAGE)
    points = [[(2 * i + 1) * 1280 // (2 * len(COLOURS)), 360] for i in range(len(COLOURS))]
    shown = _pixels(tmp_path / "page.html", points, tmp_path)
    assert not isinstance(shown, dict), shown  # (a dict: the video did not load)
    assert np.abs(np.array(shown) - np.array(COLOURS)).max() <= 3, (shown, COLOURS)
