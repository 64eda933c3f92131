"""Who may see a page: role checks for views."""
from __future__ import annotations

from functools import wraps

from flask import abort, redirect, request, url_for
from flask_login import current_user

from booking.domain.models import Role


def roles_required(*roles: Role):
    """Let signed-in users with one of `roles` through; others get the login page or a 403."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if current_user.role not in roles:
                abort(403, "Your account does not give access to this page.")
            return view(*args, **kwargs)

        return wrapper

    return decorator
