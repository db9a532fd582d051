"""No log line carries the secret of a link. Every URL pattern with a secret argument (found by
walking both sites' patterns: invitation, reset and sign-in links) is requested with a marked
value, GET and POST, and what the real log handler wrote, Django's request errors included, must
not hold it; likewise gunicorn's own access lines of a real server, and secret query values."""
import io
import logging
import subprocess
import sys
import time
import urllib.request

import pytest
from django.test import Client, RequestFactory

from erp.logs import (
    SECRET_URL_KWARGS,
    JsonLogFormatter,
    TextLogFormatter,
    secrets_redact,
)
from tests.support import ROOT, free_port, subprocess_env
from tests.sweep import _fill, walk

# The links of both sites that must be found (so the walk cannot come back empty).
KNOWN = {"accounts:welcome", "accounts:invitation_accept", "accounts:password_reset_confirm", "portal:invite", "portal:reset_confirm"}
QUERY_SECRETS = {"token", "code", "state", "signature", "hmac"}


def secret_urls() -> dict[str, str]:
    """name -> a path of every pattern with a secret argument, each secret a distinct marked value."""
    urls = {}
    for urlconf in ("erp.urls_tenants", "erp.urls_public"):
        for n, route in enumerate(walk(urlconf)):
            secret = SECRET_URL_KWARGS & set(route.kwargs)
            if secret:
                kwargs = {name: f"Zq{name}Canary{n}x{i}" for i, name in enumerate(route.kwargs)}
                urls[route.name or route.route] = _fill(route, kwargs, urlconf)
    assert set(urls) >= KNOWN, KNOWN - set(urls)
    return urls


def canaries_in(text: str) -> list[str]:
    import re

    return sorted(set(re.findall(r"Zq(?:token|uidb64|key|secret|code|signature)Canary\d+x\d+|QuerySecret\w+", text)))


@pytest.fixture
def log_output():
    """What the real console handler (our formatter) writes, at INFO."""
    root = logging.getLogger()
    handler = next(h for h in root.handlers if isinstance(h.formatter, (JsonLogFormatter, TextLogFormatter)))
    buffer = io.StringIO()
    previous, level = handler.setStream(buffer), root.level
    root.setLevel(logging.INFO)
    try:
        yield buffer
    finally:
        handler.setStream(previous)
        root.setLevel(level)


def test_no_token_of_any_link_reaches_the_log(alpha, log_output):
    urls = secret_urls()
    client = Client(HTTP_HOST="alpha.localhost", raise_request_exception=False)
    for path in urls.values():
        client.get(path)
        client.post(path, {"password": "x", "password2": "x"})
    query = "&".join(f"{name}=QuerySecret{name}" for name in sorted(QUERY_SECRETS))
    client.get(f"/login/?{query}&page=2")
    # Django's own line for a failing request names the path, and the request object too.
    path = urls["accounts:invitation_accept"]
    logging.getLogger("django.request").error("Internal Server Error: %s", path, extra={"status_code": 500, "request": RequestFactory().get(path)})
    written = log_output.getvalue()
    assert "fanout.access" in written and "/invite/[redacted]/" in written and "Internal Server Error: /invite/[redacted]/" in written
    assert not canaries_in(written), canaries_in(written)


def test_the_redaction_keeps_what_helps_reading_a_log():
    line = 'GET /password-reset/MQ/abc-123/ 302 then "/portal/invite/x.y:z/" /orders/12/?page=3&q=lip /password-reset/done/'
    assert secrets_redact(line) == ('GET /password-reset/[redacted]/[redacted]/ 302 then "/portal/invite/[redacted]/" '
                                    "/orders/12/?page=3&q=lip /password-reset/done/")


def _get(url: str, host: str) -> None:
    try:
        urllib.request.urlopen(urllib.request.Request(url, headers={"Host": host}), timeout=10).close()
    except urllib.error.HTTPError:
        pass


def test_gunicorns_access_lines_carry_no_token(committed):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "erp.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--access-logfile", "-"],
        cwd=ROOT, env=subprocess_env(DJANGO_LOG_LEVEL="INFO", FANOUT_SITE_URL=f"http://localhost:{port}"),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/login/", headers={"Host": f"alpha.localhost:{port}"}),
                                       timeout=2).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        urls = secret_urls()
        for path in urls.values():
            _get(f"http://127.0.0.1:{port}{path}", f"alpha.localhost:{port}")
        _get(f"http://127.0.0.1:{port}/login/?code=QuerySecretcode&state=QuerySecretstate", f"alpha.localhost:{port}")
    finally:
        proc.terminate()
        output = proc.communicate(timeout=20)[0].decode()
    assert '"GET /invite/[redacted]/ HTTP/1.1"' in output  # gunicorn's own access line, redacted
    assert "/portal/reset/[redacted]/[redacted]/" in output
    assert not canaries_in(output), canaries_in(output)
