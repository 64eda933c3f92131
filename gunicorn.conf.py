"""Gunicorn settings for production: `gunicorn -c gunicorn.conf.py -w 4 app:app`.

Gunicorn also reads this file by itself when started from the project root. Options given on
the command line (-w, -b, ...) win over the ones here.
"""
import os

from gunicorn.glogging import Logger

from booking.config import limiter_storage_uri, shared_throttle_warning
from booking.web.hardening import mask_secret_paths

# The access log on standard output, in the combined format plus the forwarded-for chain.
# %(h)s is the client's address once TRUSTED_PROXIES lets the app read it from the proxy.
accesslog = "-"
access_log_format = ('%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" '
                     '"%({x-forwarded-for}i)s" %(M)sms')


class SecretMaskingLogger(Logger):
    """Gunicorn's logger, with the secret of each manage, feed, reset, invitation and survey
    address (in the request line, the path, the Referer, any header) masked in the access log:
    a log reader must not be able to cancel a booking or read a private calendar."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {name: mask_secret_paths(value) if isinstance(value, str) else value
                for name, value in atoms.items()}


logger_class = SecretMaskingLogger


def on_starting(server):
    """Warn once, from the master, when the workers would each keep their own throttles."""
    warning = shared_throttle_warning(server.cfg.workers, limiter_storage_uri(os.environ))
    if warning:
        server.log.warning(warning)
