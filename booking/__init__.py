"""The application factory."""
from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

from . import config as settings
from .extensions import csrf, db, login_manager, migrate
from .web.clients import limiter

MIGRATIONS_DIR = str(Path(__file__).parent / "migrations")


def create_app(config: dict | None = None) -> Flask:
    """Build the app: settings, extensions, blueprints, error handlers, commands."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder="../templates",
        static_folder="../static",
    )
    app.config.update(settings.base_config(app.instance_path))
    app.config.from_prefixed_env()
    if config:
        app.config.update(config)
    settings.check(app.config, debug=app.debug)
    settings.secure_cookies(app.config)
    os.makedirs(app.instance_path, exist_ok=True)
    app.json.sort_keys = False  # keep fields in the order the API documents them

    register_extensions(app)
    register_hardening(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_mail(app)
    register_commands(app)
    return app


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to see that page."
    limiter.init_app(app)

    from booking.services import accounts, tokens as auth

    @login_manager.user_loader
    def load_user(sign_in_id: str):
        # Sessions and remember cookies from before session versions carry a bare id: refused.
        return auth.signed_in_user(sign_in_id, accounts.user_by_id)


def register_hardening(app: Flask) -> None:
    from .web import delivery, hardening

    hardening.register(app)
    delivery.register(app)


def register_blueprints(app: Flask) -> None:
    from .web import (account, api, auth, desk, feedback, feeds, manage, me, partner, public,
                      reports, staff, staff_events)
    from .web.converters import TokenConverter

    app.url_map.converters["token"] = TokenConverter
    app.register_blueprint(public.bp)
    app.register_blueprint(manage.bp)
    app.register_blueprint(feedback.bp)
    app.register_blueprint(feeds.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(partner.bp)
    app.register_blueprint(me.bp)
    app.register_blueprint(staff.bp)
    app.register_blueprint(desk.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(staff_events.bp)
    app.register_blueprint(reports.bp)
    csrf.exempt(api.bp)
    if app.config.get("DEV_OUTBOX"):
        from .web import dev

        app.register_blueprint(dev.bp)


def register_errorhandlers(app: Flask) -> None:
    from .web import errors

    errors.register(app)


def register_template_helpers(app: Flask) -> None:
    from .web import filters

    filters.register(app)


def register_mail(app: Flask) -> None:
    from booking.services.outbox import mailer

    mailer.init_app(app)


def register_commands(app: Flask) -> None:
    from . import cli

    cli.register(app)
