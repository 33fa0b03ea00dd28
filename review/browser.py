"""Run the review app in-process on a loopback port and drive it with headless Chromium.

Used by the browser tests and by `devtools.screenshots`. Chromium is Debian's `chromium` package,
driven by the `playwright` package's bundled driver (never `playwright install`).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import uvicorn

from review.app import create_app

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STARTUP_TIMEOUT_S = 20.0


@contextmanager
def serve_in_thread(store_url: str, **app_kwargs: Any) -> Iterator[str]:
    """Serve the app on a free 127.0.0.1 port in a daemon thread; yields the base URL.

    `app_kwargs` go to `create_app` (defaults: a fixed secret key, no Secure cookies, since
    the loopback server speaks plain HTTP).
    """
    app_kwargs.setdefault("secret_key", "browser-session-secret")
    app_kwargs.setdefault("cookie_secure", False)
    app = create_app(store_url, **app_kwargs)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        ws="none",
        server_header=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("review app did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        app.state.store.close()


def launch_chromium(playwright: Playwright) -> Browser:
    """Headless Debian Chromium with background traffic (updates, sync) switched off."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
