"""Load for the page benchmarks: browsers with their own cookies that sign in through a real login
form, people who read between pages, and a gunicorn server configured like `make run`."""
import http.cookiejar
import os
import random
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class Browser:
    """One person's browser: its own cookies, signed in through the login form at `login_path`."""

    def __init__(self, base: str, host: str, login_path: str, fields: dict):
        self.base, self.host = base, host
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        form = self.get(login_path)[1]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
        _status, body = self.request(login_path, {"csrfmiddlewaretoken": token, **fields})
        assert "Sign out" in body, body[:300]

    def request(self, path: str, data: dict | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(self.base + path, data=body, headers={"Host": self.host})
        with self.opener.open(req, timeout=60) as response:
            return response.status, response.read().decode()

    def get(self, path: str) -> tuple[int, str]:
        return self.request(path)


def load(browsers: list[Browser], pages: dict[str, str], seconds: float, think: float) -> dict[str, list[float]]:
    """Each browser opens the pages in turn (from a random one) for `seconds`, pausing 0.5–1.5 ×
    `think` seconds between them; milliseconds per page as the client saw them."""
    timings = {name: [] for name in pages}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def run(browser: Browser, seed: int) -> None:
        rng = random.Random(seed)
        names = list(pages)
        i = rng.randrange(len(names))
        time.sleep(rng.uniform(0, think or 0.05))  # people arrive spread out
        while time.monotonic() < deadline:
            name = names[i % len(names)]
            started = time.perf_counter()
            status, body = browser.get(pages[name])
            elapsed = (time.perf_counter() - started) * 1000
            assert status == 200 and "Sign out" in body, (name, status)
            with lock:
                timings[name].append(elapsed)
            i += 1
            if think:
                time.sleep(rng.uniform(think * 0.5, think * 1.5))

    threads = [threading.Thread(target=run, args=(b, n)) for n, b in enumerate(browsers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return timings


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


@contextmanager
def gunicorn(host_prefix: str, probe_path: str):
    """gunicorn as `make run` starts it (3 workers); yields (base URL, Host header value)."""
    from django.db import connections

    connections.close_all()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = dict(os.environ, DJANGO_SETTINGS_MODULE=os.environ.get("DJANGO_SETTINGS_MODULE", "erp.settings.local"), DJANGO_DEBUG="false",
               DJANGO_LOG_LEVEL="WARNING", FANOUT_SITE_URL=f"http://localhost:{port}")
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "erp.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "3", "--timeout", "120"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        base, host = f"http://127.0.0.1:{port}", f"{host_prefix}.localhost:{port}"
        for _ in range(150):
            try:
                urllib.request.urlopen(urllib.request.Request(base + probe_path, headers={"Host": host}), timeout=2).read()
                break
            except OSError:
                if server.poll() is not None:
                    raise RuntimeError(server.stderr.read().decode()[-2000:])
                time.sleep(0.2)
        yield base, host
    finally:
        server.terminate()
        server.wait(timeout=30)


def tiktok_order_webhook(shop: dict, event_id: str, order_id: str) -> tuple[bytes, str]:
    """A signed ORDER_STATUS_CHANGE delivery for `shop` (shop_id, app_key, app_secret): (body, Authorization)."""
    import json

    from connectors.clients.tiktok import tiktok_webhook_signature

    body = json.dumps({"type": 1, "tts_notification_id": event_id, "shop_id": shop["shop_id"], "timestamp": int(time.time()),
                       "data": {"order_id": order_id, "order_status": "AWAITING_SHIPMENT"}}).encode()
    return body, tiktok_webhook_signature(app_key=shop["app_key"], app_secret=shop["app_secret"], raw_body=body)
