"""gunicorn's settings wherever Fanout's web server runs: `make run` (erp/devstack.py), the Docker
image and docker-compose all start `gunicorn -c gunicorn.conf.py`; options on the command line
(--bind, --workers) still win.

Workers are recycled: a process that served FANOUT_WEB_MAX_REQUESTS requests, plus a random jitter
of up to FANOUT_WEB_MAX_REQUESTS_JITTER so that the processes do not all restart at once, exits
after its current request and gunicorn starts a fresh one. Whatever memory a process grew to (a
big page, a library that keeps caches) goes back to the system instead of staying for its life.

Its own log lines (and access lines, when someone turns them on with --access-logfile) go through the
same redaction as Fanout's: no invitation, reset or sign-in token in any log.
"""
import os

from gunicorn.glogging import Logger

from erp.logs import RedactFilter

workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
timeout = int(os.environ.get("FANOUT_WEB_TIMEOUT_S", "120"))
graceful_timeout = 30
max_requests = int(os.environ.get("FANOUT_WEB_MAX_REQUESTS", "5000"))
max_requests_jitter = int(os.environ.get("FANOUT_WEB_MAX_REQUESTS_JITTER", str(max(1, max_requests // 10))))
# The application is imported once in the master and the workers are forked from it: a recycled worker
# is up again in milliseconds instead of importing Django afresh (seconds), so recycling costs a burst
# nothing. Connections are opened by each worker, after the fork.
preload_app = True
# Access lines come from Fanout itself (JSON, with seller and request id; erp.logs): no gunicorn access log.
accesslog = None
# The workers' heartbeat files in memory: a container's overlay disk can stall them into timeouts.
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"


class RedactingLogger(Logger):
    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.access_log, self.error_log):
            log.addFilter(RedactFilter())


logger_class = RedactingLogger
