"""gunicorn.conf.py: secrets masked in the access log; a warning when workers would each
keep their own throttles."""
from __future__ import annotations

import logging
import runpy
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from gunicorn.config import Config

CONF = runpy.run_path(str(Path(__file__).resolve().parent.parent / "gunicorn.conf.py"))


@pytest.fixture
def access_log():
    """Lines the configured logger class writes to the access log, formatted as configured."""
    config = Config()
    for name in ("accesslog", "access_log_format", "logger_class"):
        config.set(name, CONF[name])
    logger = config.logger_class(config)
    lines: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())
    logger.access_log.handlers = [handler]

    def log(path: str, query: str = "", referer: str = "-") -> str:
        environ = {"REQUEST_METHOD": "GET", "RAW_URI": path + ("?" + query if query else ""),
                   "PATH_INFO": path, "QUERY_STRING": query, "SERVER_PROTOCOL": "HTTP/1.1",
                   "REMOTE_ADDR": "203.0.113.1", "HTTP_REFERER": referer,
                   "HTTP_USER_AGENT": "Calendar/1.0"}
        request = SimpleNamespace(headers=[("REFERER", referer), ("X-FORWARDED-FOR", "10.0.0.1")])
        response = SimpleNamespace(status="200 OK", headers=[], sent=120)
        logger.access(response, request, environ, timedelta(milliseconds=12))
        return lines.pop()

    return log


@pytest.mark.parametrize(("path", "shown"), [
    ("/bookings/Qx7_s3cret-Token", "/bookings/[secret]"),
    ("/bookings/Qx7_s3cret-Token/cancel", "/bookings/[secret]/cancel"),
    ("/bookings/Qx7_s3cret-Token.ics", "/bookings/[secret].ics"),
    ("/bookings/Qx7_s3cret-Token/confirm/s3cret-Code", "/bookings/[secret]/confirm/[secret]"),
    ("/feeds/u/Qx7_s3cret-Token.ics", "/feeds/u/[secret].ics"),
    ("/password/reset/eyJ1Ijo0fQ.Zk3x.s3cret-Sig", "/password/reset/[secret]"),
    ("/invitations/eyJpIjoyfQ.Zk3x.s3cret-Sig", "/invitations/[secret]"),
    ("/feedback/eyJiIjo5fQ.Zk3x.s3cret-Sig", "/feedback/[secret]"),
    ("/api/v1/bookings/Qx7_s3cret-Token/cancel", "/api/v1/bookings/[secret]/cancel"),
])
def test_the_access_log_masks_secret_addresses(access_log, path, shown):
    line = access_log(path, referer="https://library.test" + path)

    assert "s3cret" not in line
    assert f'"GET {shown} HTTP/1.1" 200 120' in line
    assert f'"https://library.test{shown}"' in line  # the Referer too
    assert line.startswith("203.0.113.1 ") and '"10.0.0.1"' in line


@pytest.mark.parametrize("path", ["/partner/invitations/new", "/staff/invitations/new",
                                  "/events/riverside-day", "/feeds/events.ics"])
def test_the_access_log_keeps_ordinary_addresses(access_log, path):
    assert f'"GET {path}?page=2 HTTP/1.1"' in access_log(path, query="page=2")


class Server:
    def __init__(self, workers: int):
        self.cfg = SimpleNamespace(workers=workers)
        self.warnings: list[str] = []
        self.log = SimpleNamespace(warning=self.warnings.append)


@pytest.fixture
def storage_env(monkeypatch):
    for name in ("RATELIMIT_STORAGE_URI", "FLASK_RATELIMIT_STORAGE_URI"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_several_workers_with_throttles_in_memory_warn_at_start_up(storage_env):
    server = Server(workers=4)

    CONF["on_starting"](server)

    [warning] = server.warnings
    assert "4 workers" in warning and "RATELIMIT_STORAGE_URI" in warning


@pytest.mark.parametrize(("workers", "storage"), [
    (4, "redis://127.0.0.1:6379"), (1, None), (1, "memory://"),
])
def test_a_shared_store_or_a_single_worker_starts_quietly(storage_env, workers, storage):
    if storage:
        storage_env.setenv("RATELIMIT_STORAGE_URI", storage)
    server = Server(workers=workers)

    CONF["on_starting"](server)

    assert server.warnings == []
