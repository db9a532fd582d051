"""A worker's parent process computes the sign-up schema template's fingerprint (sellers.schemas)
before it forks its children, so no child's first provisioning pays for it; it needs the code only,
so a worker started while the database is not reachable yet still starts."""
import subprocess
import sys
import threading
import time
import uuid

from tests.support import ROOT, free_port, subprocess_env

WARMED = "warmed the sign-up schema template's fingerprint"


def test_a_worker_warms_the_template_fingerprint_and_starts_without_the_database():
    unreachable = f"postgres://postgres@127.0.0.1:{free_port()}/nowhere"  # nothing listens there
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "erp", "worker", "-Q", f"test-{uuid.uuid4().hex[:8]}", "--concurrency", "2", "--loglevel", "INFO",
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=subprocess_env(DATABASE_URL=unreachable, DJANGO_LOG_LEVEL="INFO"), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any("ready." in line for line in lines) and proc.poll() is None:
            time.sleep(0.2)
        output = "".join(lines)
        assert proc.poll() is None and "ready." in output, output[-4000:]
        warmed = next((i for i, line in enumerate(lines) if WARMED in line), None)
        forked = next((i for i, line in enumerate(lines) if "ready." in line), None)
        assert warmed is not None and warmed < forked, output[-4000:]  # in the parent, before its children take work
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
