"""Headless Chromium for the web page's tests and benchmark: a fake camera fed from a .y4m file, and a local server
that serves a page folder with the isolation headers and collects what the page reports (its ``?report=``
address)."""
from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np

from cgan.apps.serve import IsolatedPageHandler, page_server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def write_y4m(path: Path, rgb: np.ndarray, frames: int = 30) -> Path:
    """A still clip (every frame ``rgb``) in the format Chromium's fake camera reads."""
    h, w = rgb.shape[:2]
    planes = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420).tobytes()
    with open(path, "wb") as file:
        file.write(f"YUV4MPEG2 W{w} H{h} F30:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            file.write(b"FRAME\n" + planes)
    return path


class ReportingHandler(IsolatedPageHandler):
    reports: list = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        self.reports.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()


@contextmanager
def page_in_chromium(folder: Path, tmp: Path, *, camera: Path | None, allowed: bool = True, webgpu: bool = False,
                     query: str = ""):
    """Chromium showing ``folder``'s page (camera: the .y4m clip, or none; ``allowed``: the visitor lets the page use
    it; ``webgpu``: with a software WebGPU adapter, SwiftShader; ``query`` added to the address); yields the list of
    the page's reports."""
    reports: list = []
    handler = type("Handler", (ReportingHandler,), {"reports": reports})
    server = page_server(folder, port=0, handler=handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    flags = ["--headless=new", "--no-sandbox", "--mute-audio", f"--user-data-dir={tmp / 'profile'}",
             "--autoplay-policy=no-user-gesture-required"]
    flags += ["--enable-unsafe-webgpu", "--use-webgpu-adapter=swiftshader"] if webgpu else ["--disable-gpu"]
    if allowed:  # answers the permission prompt with yes (headless Chromium otherwise says no)
        flags.append("--use-fake-ui-for-media-stream")
    if camera is not None:
        flags += ["--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={camera}"]
    url = f"http://127.0.0.1:{server.server_port}/index.html?report=/report{query}"
    browser = subprocess.Popen([CHROMIUM, *flags, url], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield reports
    finally:
        browser.kill()
        browser.wait()
        server.shutdown()
        server.server_close()


def wait_for(reports: list, test, seconds: float = 90) -> dict:
    """The first report that passes ``test``, waiting up to ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = next((r for r in list(reports) if test(r)), None)
        if found is not None:
            return found
        time.sleep(0.2)
    raise AssertionError(f"no such report within {seconds} s; the page reported: {[_short(r) for r in reports][-5:]}")


def _short(report: dict) -> dict:
    return {k: v for k, v in report.items() if k not in ("input", "output")}
