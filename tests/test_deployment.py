"""The deployment, checked with the real tools as far as this machine has them (no Docker engine):
the image's build step (collectstatic) run exactly as the Dockerfile runs it, what the build context
lets in, production settings passing `check --deploy` with the compose file's environment and
serving the collected static files, the compose file publishing only the TLS proxy, and every way
of starting the web server recycling its workers."""
import json
import os
import re
import runpy
import shlex
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests import support
from tests.support import ROOT, free_port

SECRETS = {"DJANGO_SECRET_KEY": "k9-not-a-real-secret-8Zq2-but-long-and-varied-enough-for-check-deploy-7fT", "POSTGRES_PASSWORD": "pw", "FANOUT_BASE_DOMAIN": "shop.example.com",
           "FANOUT_CREDENTIALS_KEYS": "dGVzdC1vbmx5LWtleS1mYW5vdXQtdGVzdHMtMDAwMDA="}


def _bare_env(**extra: str) -> dict[str, str]:
    """This machine's environment without anything Django or Fanout reads: what a container starts with."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "FANOUT_", "DATABASE_URL", "REDIS_URL", "CELERY_"))}
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env.update(extra)
    return env


def compose_config(env: dict[str, str] | None = None) -> dict:
    """docker-compose's own reading of the compose file (interpolated), as a dict."""
    docker_compose = shutil.which("docker-compose")
    assert docker_compose, "Debian's docker-compose is needed (make test installs it: apt-get install docker-compose)"
    env = dict(os.environ, **SECRETS) if env is None else env
    done = subprocess.run([docker_compose, "-f", "docker-compose.yml", "config"], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    # docker-compose is a Python program with PyYAML beside it: the same interpreter turns its YAML into JSON.
    with open(docker_compose) as script:
        interpreter = script.readline().removeprefix("#!").strip()
    as_json = subprocess.run([interpreter, "-c", "import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)"],
                             input=done.stdout, capture_output=True, text=True, check=True)
    return json.loads(as_json.stdout)


def _dockerfile() -> tuple[dict[str, str], list[str], list[str]]:
    """The Dockerfile's ENV values, RUN commands and CMD (continuation lines joined)."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    env, runs, cmd = {}, [], []
    for line in text.splitlines():
        word, _, rest = line.strip().partition(" ")
        if word == "ENV":
            env.update(dict(pair.split("=", 1) for pair in shlex.split(rest)))
        elif word == "RUN":
            runs.append(rest)
        elif word == "CMD":
            cmd = json.loads(rest)
    return env, runs, cmd


# ============================================================================ the image
@pytest.fixture(scope="module")
def collected_static(tmp_path_factory):
    """The Dockerfile's collectstatic command, run as the build runs it: the Dockerfile's ENV and no
    secret at all (the build has none), into a folder of its own."""
    env, runs, _cmd = _dockerfile()
    step = next(part.strip() for run in runs for part in run.split("&&") if "collectstatic" in part)
    root = tmp_path_factory.mktemp("staticfiles")
    env = _bare_env(**{k: v for k, v in env.items() if k != "PYTHONPATH"}, PYTHONPATH=str(ROOT), DJANGO_STATIC_ROOT=str(root))
    done = subprocess.run(["sh", "-c", step], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    return step, done, root


def test_the_image_build_step_collects_the_static_files_without_any_secret(collected_static):
    step, done, root = collected_static
    assert done.returncode == 0, f"{step}\n{done.stdout[-2000:]}{done.stderr[-4000:]}"
    manifest = json.loads((root / "staticfiles.json").read_text())["paths"]
    hashed = manifest["vendor/chartjs/chart.umd.min.js"]
    assert hashed != "vendor/chartjs/chart.umd.min.js" and (root / hashed).exists() and (root / f"{hashed}.gz").exists()
    # Every file of ours is in the manifest (a reference to a missing file would have failed the build).
    ours = {str(p.relative_to(ROOT / "static")) for p in (ROOT / "static").rglob("*") if p.is_file()}
    assert ours <= set(manifest), ours - set(manifest)


def test_production_settings_serve_pages_with_the_collected_static_files(collected_static, committed):
    """gunicorn with the compose file's web command and environment (but this machine's database and
    Redis): a seller's sign-in page answers, and its hashed static files with it."""
    _step, done, root = collected_static
    assert done.returncode == 0, done.stderr[-2000:]
    web = compose_config()["services"]["web"]
    port = free_port()
    env = _bare_env(**{**web["environment"], "DATABASE_URL": support.test_database_url(), "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
                       "DJANGO_ALLOWED_HOSTS": ".localhost,localhost", "DJANGO_STATIC_ROOT": str(root), "WEB_CONCURRENCY": "1"})
    command = [c if c != "0.0.0.0:8000" else f"127.0.0.1:{port}" for c in web["command"]]
    proc = subprocess.Popen([sys.executable, "-m", *command], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def get(path: str) -> tuple[int, str]:
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": "alpha.localhost", "X-Forwarded-Proto": "https"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode(errors="replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")

    try:
        deadline = time.monotonic() + 40
        while True:
            try:
                status, page = get("/login/")
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read().decode()[-3000:]
                time.sleep(0.3)
        assert status == 200, page[-2000:]
        static = sorted(set(re.findall(r'(/static/[^"\']+\.[0-9a-f]{12}\.(?:css|js))', page)))
        assert static, "the sign-in page links no hashed static file"
        for url in static:
            assert get(url)[0] == 200, url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_check_deploy_passes_with_the_compose_web_environment():
    web = compose_config()["services"]["web"]
    env = _bare_env(**web["environment"])
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"System check identified no issues \(\d+ silenced\)\.", result.stdout), result.stdout  # silenced on purpose in settings


@pytest.mark.parametrize("missing", ["DJANGO_SECRET_KEY", "FANOUT_CREDENTIALS_KEYS"])
def test_production_settings_refuse_to_start_without_their_secrets(missing):
    env = _bare_env(**compose_config()["services"]["web"]["environment"])
    del env[missing]
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert result.returncode != 0 and missing in result.stderr


# ============================================================================ the build context
def dockerignore_excludes(path: str, lines: list[str]) -> bool:
    """Whether Docker leaves `path` (relative to the context) out, by Docker's rules: patterns in
    Go's filepath.Match syntax plus `**`, matched against the path and each of its parent folders;
    `!` lets back in; the last pattern that matches decides."""
    excluded = False
    parents = path.split("/")
    candidates = ["/".join(parents[: i + 1]) for i in range(len(parents))]
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line.removeprefix("!").strip().lstrip("/")
        regex, i = "", 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                regex, i = regex + "(?:.*/)?", i + 3
            elif pattern.startswith("**", i):
                regex, i = regex + ".*", i + 2
            elif pattern[i] == "*":
                regex, i = regex + "[^/]*", i + 1
            elif pattern[i] == "?":
                regex, i = regex + "[^/]", i + 1
            else:
                regex, i = regex + re.escape(pattern[i]), i + 1
        if any(re.fullmatch(regex, candidate) for candidate in candidates):
            excluded = not negate
    return excluded


def test_dockerignore_lets_in_the_code_and_keeps_secrets_out():
    from django.apps import apps

    lines = (ROOT / ".dockerignore").read_text().splitlines()
    # The matcher reads Docker's rules right.
    assert dockerignore_excludes("a/b.log", ["**/*.log"]) and not dockerignore_excludes("a/b.log", ["*.log"])
    assert not dockerignore_excludes("erp/x.py", ["*", "!erp"]) and dockerignore_excludes("erp/x.py", ["*", "!erp", "erp/x.py"])

    secrets = [".env", ".env.production", "erp/.env", "orders/.env.local", ".var/services.env", ".var/credentials.key",
               ".var/backups/demo-20261201T000000Z.tar", ".var/backups/database-20261201T000000Z.dump", ".var/log/web.log", "web.log",
               "orders/debug.log", ".git/config", ".venv/bin/python", "staticfiles/staticfiles.json", "test-artifacts/journey-1.png",
               "certs/privkey.pem", "erp/server.key", "id_rsa", "erp/__pycache__/celery.cpython-311.pyc", "tests/conftest.py", "bench/faults.py"]
    let_in = [p for p in secrets if not dockerignore_excludes(p, lines)]
    assert not let_in, f"the image would contain {let_in}"

    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    local_apps = {Path(app.path).name for app in apps.get_app_configs() if Path(app.path).parent == ROOT}
    assert {"orders", "portal", "sellers"} <= local_apps
    needed = [p for p in tracked if p.split("/")[0] in local_apps | {"erp", "templates", "static", "locale"}]
    needed += ["manage.py", "pyproject.toml", "constraints.txt", "README.md", "gunicorn.conf.py"]
    left_out = [p for p in needed if dockerignore_excludes(p, lines)]
    assert not left_out, f"the image would miss {left_out}"
    assert "locale/zh_Hans/LC_MESSAGES/django.mo" in needed and "erp/settings/production.py" in needed


# ============================================================================ compose
def test_compose_publishes_only_the_tls_proxy_and_refuses_to_run_without_secrets():
    services = compose_config()["services"]
    assert {"postgres", "redis", "migrate", "web", "worker", "beat", "proxy"} <= set(services)
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"proxy"}, f"published besides the proxy: {published - {'proxy'}}"
    assert {p["target"] for p in services["proxy"]["ports"]} == {80, 443}
    assert "8000" in [str(p) for p in services["web"].get("expose", [])]
    # The proxy forwards to web on the compose network, with the headers production settings trust.
    mounts = [v.split(":")[:2] if isinstance(v, str) else [v["source"], v["target"]] for v in services["proxy"]["volumes"]]
    source = next(src for src, target in mounts if target == "/etc/nginx/conf.d/default.conf")
    nginx = (ROOT / os.path.relpath(source, ROOT)).read_text()
    assert "server web:8000;" in nginx and "proxy_set_header X-Forwarded-Proto $scheme;" in nginx and "proxy_set_header Host $host;" in nginx
    for name in ("web", "worker", "beat", "migrate"):
        assert services[name]["image"] == "fanout:latest" and services[name]["environment"]["DJANGO_SETTINGS_MODULE"] == "erp.settings.production"
    # Without the secrets it refuses, instead of starting with defaults.
    bare = {k: v for k, v in os.environ.items() if k not in SECRETS}
    refused = subprocess.run(["docker-compose", "-f", "docker-compose.yml", "config"], cwd=ROOT, env=bare, capture_output=True, text=True, check=False)
    assert refused.returncode != 0


# ============================================================================ web workers recycled
def test_every_way_to_start_the_web_server_recycles_its_workers(committed):
    from erp.devstack import web_command

    _env, _runs, cmd = _dockerfile()
    commands = {"Dockerfile": cmd, "docker-compose web": compose_config()["services"]["web"]["command"], "make run": web_command(8000)}
    for where, argv in commands.items():
        assert "gunicorn" in " ".join(argv) and argv[argv.index("-c") + 1] == "gunicorn.conf.py", where
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert conf["max_requests"] >= 100 and 0 < conf["max_requests_jitter"] < conf["max_requests"]

    # The real thing: one worker, recycled after 4 requests (jitter 1); 14 requests need at least 3 of them.
    port = free_port()
    env = dict(os.environ, DATABASE_URL=support.test_database_url(), DJANGO_SETTINGS_MODULE="erp.settings.test", WEB_CONCURRENCY="1",
               FANOUT_WEB_MAX_REQUESTS="4", FANOUT_WEB_MAX_REQUESTS_JITTER="1")
    argv = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", "erp.wsgi"]
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        answered = 0
        deadline = time.monotonic() + 60
        while answered < 14 and time.monotonic() < deadline:
            request = urllib.request.Request(f"http://127.0.0.1:{port}/login/", headers={"Host": "alpha.localhost"})
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    answered += response.status == 200
            except OSError:
                time.sleep(0.2)  # starting, or a worker restarting
        assert answered == 14
    finally:
        proc.terminate()
        log = proc.communicate(timeout=20)[0].decode()
    assert log.count("Autorestarting worker after current request") >= 2, log[-3000:]
    assert len(set(re.findall(r"Booting worker with pid: (\d+)", log))) >= 3, log[-3000:]
