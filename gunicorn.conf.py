"""gunicorn's settings for the portal: read from ./gunicorn.conf.py by default, and named
explicitly (`-c gunicorn.conf.py`) by the Dockerfile and bench/load.py.

Its access and error logs redact link tokens from request paths, like Django's LOGGING
does (portal/log_redaction.py): a partnership or team-invitation link in an access log
is as good as the invitation itself.
"""

from gunicorn.glogging import Logger

from portal.log_redaction import RedactSecrets


class RedactingLogger(Logger):
    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            # setup() runs again on a configuration reload (HUP): add the filter once.
            if not any(isinstance(f, RedactSecrets) for f in log.filters):
                log.addFilter(RedactSecrets())


logger_class = RedactingLogger
