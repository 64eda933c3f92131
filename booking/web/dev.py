"""Development only: read the e-mails the app wrote as .eml files (no mail server), so that a
newcomer trying `make run` can open a hold's confirmation link. Registered only when
DEV_OUTBOX is on, which the app refuses beside a real MAIL_SERVER (see config.check)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from email import policy
from email.parser import BytesParser
from pathlib import Path

from flask import Blueprint, abort, current_app, render_template
from markupsafe import Markup, escape

from booking.services.outbox import mailer

bp = Blueprint("dev", __name__, url_prefix="/dev")

#: How many of the newest messages the list shows.
SHOWN = 200
_NAME = re.compile(r"message-\d{1,12}")
_LINK = re.compile(r"https?://[^\s<>\"]+")


@dataclass(frozen=True)
class Written:
    name: str
    subject: str
    to: str
    written_at: datetime


def _directory() -> Path:
    return mailer.file_outbox(current_app).directory


def _read(path: Path):
    with path.open("rb") as file:
        return BytesParser(policy=policy.default).parse(file)


@bp.get("/outbox")
def outbox():
    directory = _directory()
    paths = sorted(directory.glob("message-*.eml"), key=lambda p: p.stat().st_mtime,
                   reverse=True)[:SHOWN] if directory.is_dir() else []
    messages = []
    for path in paths:
        email = _read(path)
        messages.append(Written(
            name=path.stem, subject=str(email["Subject"] or ""), to=str(email["To"] or ""),
            written_at=datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)))
    return render_template("dev/outbox.html", messages=messages, directory=directory)


@bp.get("/outbox/<name>")
def message(name: str):
    path = _directory() / f"{name}.eml"
    if not _NAME.fullmatch(name) or not path.is_file():
        abort(404, "There is no such message in the development outbox.")
    email = _read(path)
    body = email.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    return render_template("dev/message.html", email=email, name=name, body=linkify(text))


def linkify(text: str) -> Markup:
    """The text, escaped, with its web links made clickable."""
    out, last = [], 0
    for match in _LINK.finditer(text):
        out.append(escape(text[last:match.start()]))
        url = match.group(0)
        out.append(Markup('<a href="{0}">{0}</a>').format(url))
        last = match.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)
