import logging
from contextlib import contextmanager
from logging.config import fileConfig

from flask import current_app

from alembic import context

# this is the Alembic Config object, which provides
# access to the values within the .ini file in use.
config = context.config

# Interpret the config file for Python logging. Loggers configured before (the app's,
# pytest's) are left working: migrating inside a running process must not silence them.
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger('alembic.env')


def render_item(type_, obj, autogen_context):
    """Write the models' UTCDateTime into migrations as the column type it stores.

    A migration then holds plain `sa.DateTime(timezone=True)` and does not import the app,
    whose models will have moved on by the time an old migration runs.
    """
    from booking.domain.models import UTCDateTime

    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def get_engine():
    return current_app.extensions['migrate'].db.engine


def get_engine_url():
    try:
        return get_engine().url.render_as_string(hide_password=False).replace(
            '%', '%%')
    except AttributeError:
        return str(get_engine().url).replace('%', '%%')


# add your model's MetaData object here
# for 'autogenerate' support
# from myapp import mymodel
# target_metadata = mymodel.Base.metadata
config.set_main_option('sqlalchemy.url', get_engine_url())
target_db = current_app.extensions['migrate'].db

# other values from the config, defined by the needs of env.py,
# can be acquired:
# my_important_option = config.get_main_option("my_important_option")
# ... etc.


def get_metadata():
    if hasattr(target_db, 'metadatas'):
        return target_db.metadatas[None]
    return target_db.metadata


def run_migrations_offline():
    """Run migrations in 'offline' mode.

    This configures the context with just a URL
    and not an Engine, though an Engine is acceptable
    here as well.  By skipping the Engine creation
    we don't even need a DBAPI to be available.

    Calls to context.execute() here emit the given string to the
    script output.

    """
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url, target_metadata=get_metadata(), literal_binds=True,
        render_item=render_item,
    )

    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    """Run migrations in 'online' mode.

    In this scenario we need to create an Engine
    and associate a connection with the context.

    """

    # this callback is used to prevent an auto-migration from being generated
    # when there are no changes to the schema
    # reference: http://alembic.zzzcomputing.com/en/latest/cookbook.html
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, 'autogenerate', False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info('No changes in schema detected.')

    # A copy: the app's own dict outlives this run, and a hook stored there would keep
    # this run's `config` (a later `db migrate` in the same process would not be seen).
    conf_args = dict(current_app.extensions['migrate'].configure_args)
    if conf_args.get("process_revision_directives") is None:
        conf_args["process_revision_directives"] = process_revision_directives
    conf_args.setdefault("render_item", render_item)

    connectable = get_engine()

    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=get_metadata(),
            **conf_args
        )

        with sqlite_foreign_keys_deferred_to_the_end(connection):
            with context.begin_transaction():
                context.run_migrations()
                check_sqlite_foreign_keys(connection)


@contextmanager
def sqlite_foreign_keys_deferred_to_the_end(connection):
    """SQLite: foreign keys off while batch operations copy tables, checked before commit.

    Batch mode rebuilds a table (new table, copy, drop, rename); with foreign keys on, the
    drop fails when another table refers to its rows. SQLite's own recipe for that is to turn
    them off outside the transaction and run `foreign_key_check` before committing.
    """
    raw = connection.connection.driver_connection
    if connection.dialect.name != "sqlite":
        yield
        return
    raw.execute("PRAGMA foreign_keys = OFF")  # no transaction yet: the driver is in autocommit
    try:
        yield
    finally:
        raw.execute("PRAGMA foreign_keys = ON")


def check_sqlite_foreign_keys(connection):
    if connection.dialect.name == "sqlite":
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"the migration left rows whose foreign keys break: {broken[:5]}")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
