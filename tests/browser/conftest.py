import os
import shutil

import pytest

from tests.support import free_port, start_web_server

# Playwright's sync API runs an event loop in this thread; the ORM calls in these tests are
# ordinary synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's Chromium is needed for browser tests: apt-get install -y chromium (make test does this as root)")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"],
    }


@pytest.fixture
def web_server(committed):
    port = free_port()
    proc = start_web_server(port)
    yield f"http://localhost:{port}"
    proc.terminate()
    proc.wait(timeout=20)
