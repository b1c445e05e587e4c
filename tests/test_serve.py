"""cgan serve: a page folder with the cross-origin isolation headers, nothing outside the folder, one-line errors."""
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import pytest
from click.testing import CliRunner

from cgan.apps.serve import ISOLATION_HEADERS, page_server
from cgan.cli import cli


@pytest.fixture
def page(tmp_path):
    folder = tmp_path / "page"
    folder.mkdir()
    (folder / "index.html").write_text("<!doctype html><title>t</title>")
    (folder / "ort.wasm").write_bytes(b"\0asm\1\0\0\0")
    (tmp_path / "secret.txt").write_text("outside")
    os.symlink(tmp_path / "secret.txt", folder / "link.txt")
    (folder / "sub").mkdir()
    return folder


def _get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, b""


def test_the_page_is_served_isolated_and_nothing_outside_its_folder(page):
    server = page_server(page, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}/"
    try:
        status, headers, body = _get(base)
        assert status == 200 and b"<title>t</title>" in body
        assert all(headers[name] == value for name, value in ISOLATION_HEADERS.items())
        status, headers, _ = _get(base + "ort.wasm")
        assert status == 200 and headers["Content-Type"] == "application/wasm"  # streaming compilation needs it
        assert _get(base + "link.txt")[0] == 404  # a link leading out of the folder
        assert _get(base + "../secret.txt")[0] == 404
        assert _get(base + "sub/")[0] == 404  # no listings
    finally:
        server.shutdown()
        server.server_close()


def test_serve_refuses_a_folder_without_a_page_and_a_taken_port_in_one_line(page, tmp_path):
    result = CliRunner().invoke(cli, ["serve", str(tmp_path / "missing")])
    assert result.exit_code == 2 and result.output.startswith("error: folder not found")
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(cli, ["serve", str(tmp_path / "empty")])
    assert result.exit_code == 2 and "has no index.html" in result.output
    taken = page_server(page, port=0)
    try:
        result = CliRunner().invoke(cli, ["serve", str(page), "--port", str(taken.server_port)])
        assert result.exit_code == 2 and result.output.startswith(f"error: cannot listen on 127.0.0.1:{taken.server_port}")
    finally:
        taken.server_close()


def test_cgan_serve_prints_the_url_and_stops_on_ctrl_c(page):
    import signal

    process = subprocess.Popen([sys.executable, "-m", "cgan", "serve", str(page), "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith(f"serving {page} at http://127.0.0.1:"), line
        assert _get(line.split(" at ")[1].strip())[0] == 200
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
    finally:
        process.kill()
