"""``cgan serve DIR``: a page folder served on this machine with the headers that cross-origin isolation needs.

A page's WebAssembly runs on several threads only with ``SharedArrayBuffer``, which browsers give to cross-origin
isolated pages alone: served with ``Cross-Origin-Opener-Policy: same-origin`` and
``Cross-Origin-Embedder-Policy: require-corp``. ``python -m http.server`` sends neither. The standard library's
server is enough for one visitor on one machine; what it lacks (the headers, wasm's MIME type, staying inside the
folder, no directory listings) is added here.
"""
from __future__ import annotations

import functools
import logging
import os
import socket
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable

from ..errors import CganError

log = logging.getLogger("cgan.serve")

ISOLATION_HEADERS = {"Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp",
                     "Cross-Origin-Resource-Policy": "same-origin"}
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


class IsolatedPageHandler(SimpleHTTPRequestHandler):
    """Files of one folder with the isolation headers, no listings, and nothing outside the folder."""

    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".wasm": "application/wasm",
                      ".mjs": "text/javascript", ".js": "text/javascript", ".onnx": "application/octet-stream"}

    def end_headers(self) -> None:
        for name, value in ISOLATION_HEADERS.items():
            self.send_header(name, value)
        self.send_header("Cache-Control", "no-cache")  # a re-export is seen on reload
        super().end_headers()

    def send_head(self):
        """The file a URL names; a link inside the folder that leads out of it is answered as missing."""
        root = os.path.realpath(self.directory)
        if os.path.commonpath([root, os.path.realpath(self.translate_path(self.path))]) != root:
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return None
        return super().send_head()

    def list_directory(self, path):
        self.send_error(HTTPStatus.NOT_FOUND, "no listings")
        return None

    def log_message(self, format: str, *args) -> None:  # the standard one writes every request to stderr
        log.debug("%s %s", self.address_string(), format % args)


class IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def page_server(folder: str | os.PathLike, *, host: str = "127.0.0.1", port: int = 8000,
                handler: type[IsolatedPageHandler] = IsolatedPageHandler) -> ThreadingHTTPServer:
    """A server (not yet serving) for ``folder``, which must hold an ``index.html``; port 0: any free port.
    ``handler`` answers the requests (a subclass can add to what the page may do, as the tests' reports)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CganError(f"folder not found: {folder} (give the folder cgan export --format web wrote)")
    if not (folder / "index.html").is_file():
        raise CganError(f"{folder} has no index.html: give a page folder, such as cgan export --format web writes")
    if not 0 <= port <= 65535:
        raise CganError(f"--port must be from 0 to 65535, not {port}")
    answer = functools.partial(handler, directory=str(folder.resolve()))
    try:
        return (IPv6Server if ":" in host else ThreadingHTTPServer)((host, port), answer)
    except socket.gaierror as error:
        raise CganError(f"--host {host} is not an address of this machine ({error.strerror}): give one, such as "
                        f"127.0.0.1 (this machine only) or 0.0.0.0 (every network it is on)") from None
    except OSError as error:
        raise CganError(f"cannot listen on {host}:{port} ({error.strerror or error}): choose another --port, or "
                        f"--port 0 for any free one") from None


def serve(folder: str | os.PathLike, *, host: str = "127.0.0.1", port: int = 8000,
          on_ready: Callable[[str], None] | None = None) -> None:
    """Serve ``folder`` until Ctrl-C; ``on_ready`` gets the page's URL once the server listens."""
    server = page_server(folder, host=host, port=port)
    if host not in LOCAL_HOSTS:
        log.warning(f"note: {folder} is reachable from other machines on {host}. Browsers give a camera only to "
                    f"https pages and to localhost, so visitors from elsewhere need an https address in front")
    shown_host = f"[{host}]" if ":" in host else host
    if on_ready:
        on_ready(f"http://{shown_host}:{server.server_port}/")
    with server:
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            log.info("stopped")
