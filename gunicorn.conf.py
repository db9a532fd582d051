"""Gunicorn reads this file from the directory it starts in (the repository; /app in the image).
Its own log lines, access lines included when someone turns them on (--access-logfile), go
through the same redaction as Fanout's: no invitation, reset or sign-in token in any log."""
from gunicorn.glogging import Logger

from erp.logs import RedactFilter


class RedactingLogger(Logger):
    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.access_log, self.error_log):
            log.addFilter(RedactFilter())


logger_class = RedactingLogger
