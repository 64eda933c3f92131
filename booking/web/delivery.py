"""How answers travel: compressed when anyone may cache them, and static files cached for a
year under their content's hash, so a repeat visit downloads no CSS or JS.

Only public answers (hardening.is_public: no personal data, no secret) are compressed. Pages
with a form's CSRF token or a person's own data are not: compressing a secret beside text an
attacker can make the page echo lets them guess the secret from the sizes (BREACH).
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Flask, request
from flask_compress import Compress

from .hardening import is_public

#: What is worth compressing: text. Images other than SVG are compressed already.
COMPRESSED_TYPES = [
    "text/html", "text/css", "text/javascript", "application/javascript",
    "application/json", "text/calendar", "image/svg+xml",
]
#: A static file asked for under its current hash never changes: a year, and no revalidation.
IMMUTABLE = "public, max-age=31536000, immutable"


def register(app: Flask) -> None:
    """Compress public answers, and give static addresses their content's hash."""
    app.config.setdefault("COMPRESS_MIMETYPES", COMPRESSED_TYPES)
    # Called from our own hook, for public answers only, not on every answer.
    app.config["COMPRESS_REGISTER"] = False
    compress = Compress(app)
    hashes = StaticHashes(Path(app.static_folder), reread=app.debug)

    @app.url_defaults
    def static_hash(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "filename" in values and "v" not in values:
            digest = hashes.of(values["filename"])
            if digest:
                values["v"] = digest

    @app.after_request
    def deliver(response):
        if request.endpoint == "static" and response.status_code in (200, 304):
            wanted = request.args.get("v")
            if wanted and wanted == hashes.of(request.view_args.get("filename", "")):
                response.headers["Cache-Control"] = IMMUTABLE
        if is_public(response):
            return compress.after_request(response)
        return response


class StaticHashes:
    """The first 12 hex digits of each static file's SHA-256, read once (or on each change
    of the file's time stamp, when `reread`, as in development)."""

    def __init__(self, folder: Path, *, reread: bool = False):
        self.folder = folder.resolve()
        self.reread = reread
        self._known: dict[str, tuple[float, str]] = {}

    def of(self, filename: str) -> str | None:
        known = self._known.get(filename)
        if known is not None and not self.reread:
            # Every page asks for its stylesheet and scripts: no file system after the first.
            return known[1]
        path = (self.folder / filename).resolve()
        if not path.is_relative_to(self.folder) or not path.is_file():
            return None
        stamp = path.stat().st_mtime
        if known is None or known[0] != stamp:
            known = (stamp, hashlib.sha256(path.read_bytes()).hexdigest()[:12])
            self._known[filename] = known
        return known[1]
