"""`python -m bench`: benchmarks on a throwaway SQLite database under a temporary folder."""
from __future__ import annotations

import tempfile
from pathlib import Path

from booking import create_app
from booking.extensions import db

from . import schedule


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-") as folder:
        app = create_app({
            "TESTING": True,
            "SECRET_KEY": "bench-only",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(folder) / 'bench.sqlite3'}",
            "PUBLIC_BASE_URL": "https://library.test",
        })
        app.instance_path = folder
        with app.app_context():
            db.create_all()
            schedule.run()
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()
