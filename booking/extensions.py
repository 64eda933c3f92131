"""Extensions, created unbound and bound to the app in the factory."""
from __future__ import annotations

import logging
import sqlite3
from contextlib import contextmanager

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from booking.domain.errors import Busy, is_lock_timeout

# Named constraints so that migrations can alter them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()


#: The session's info key counting the transaction() blocks it is inside.
_DEPTH = "booking.transaction_depth"


@contextmanager
def transaction():
    """Run a block as one transaction of the session: commit at its end; on any error roll
    back and re-raise. Contention becomes Busy ("try again"): a lock waited on too long, or
    a constraint another writer's commit made fail between our checks and our write (the
    seat counter's CHECK, a unique slug or name).

    Inside another transaction() (one service's verb run as part of another's), the block is
    a savepoint instead: its failure undoes only its own writes, and nothing is committed
    before the outermost block ends, so the whole action stays one transaction (Django's
    atomic() nests the same way).
    """
    info = db.session.info
    depth = info.get(_DEPTH, 0)
    info[_DEPTH] = depth + 1
    try:
        if depth:
            with db.session.begin_nested():
                yield
        else:
            yield
            db.session.commit()
    except BaseException as exc:
        if not depth:
            db.session.rollback()
        if isinstance(exc, IntegrityError):
            # Logged, so that a constraint that fails for another reason (a bug) is seen. The
            # first line names the constraint; the database's DETAIL line (values) is left out.
            logging.getLogger(__name__).warning(
                "A transaction was refused as busy: %s", str(exc.orig).splitlines()[0])
        if is_lock_timeout(exc) or isinstance(exc, IntegrityError):
            raise Busy() from exc
        raise
    finally:
        info[_DEPTH] = depth


#: Milliseconds an SQLite connection waits for the write lock before giving up.
SQLITE_BUSY_TIMEOUT_MS = 15000


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection, connection_record):
    """WAL, a busy timeout, foreign keys; transactions are begun by us, not the driver."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # The driver's own implicit BEGIN would be DEFERRED; we emit BEGIN IMMEDIATE instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin_immediate(conn):
    """Take SQLite's write lock when the transaction starts, so read-then-write cannot race.

    A DEFERRED transaction that reads and then writes fails with "database is locked" when
    another writer got in between; IMMEDIATE makes it wait its turn instead.
    """
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
