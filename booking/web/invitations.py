"""The invitation page shared by staff (/staff) and coordinators (/partner), and the one place
an invitation link leaves the application."""
from __future__ import annotations

from flask import render_template
from flask_login import current_user
from wtforms import SelectField

from booking.services import accounts, tokens as auth
from booking.services.outbox import notifications
from ..extensions import db
from booking.domain.errors import ValidationFailed
from booking.web.forms import InviteForm
from booking.domain.models import Role, utcnow
from .errors import add_field_errors


def send_invitation(invitation: auth.Invitation, token: str) -> str:
    """E-mail the invitation link; returns the link, which the inviter also sees as a fallback.

    The link is a credential: it goes to the invited person and the inviter, never to the log.
    """
    link = notifications.public_url("auth.accept_invitation", token=token)
    notifications.queue_invitation(invitation.email, link,
                                   current_user.name or current_user.email,
                                   invitation.role.value, utcnow())
    db.session.commit()
    return link


def _choice(field: SelectField):
    """A select's value as an id, or None for "none"."""
    return int(field.data) if field.data and field.data.isdigit() else None


def invitation_page(form: InviteForm, *, role: Role | None, partner_id: int | None,
                    heading: str, back_url: str):
    """Show the invite form; on a valid POST invite the person and show their link.

    `role` and `partner_id` are fixed by the page when given (a coordinator's volunteers);
    otherwise they come from the form's own choices.
    """
    status = 200
    if form.validate_on_submit():
        try:
            invitation, token = accounts.invite(
                current_user, email=form.email.data,
                role=role or Role(form.role.data),
                partner_id=partner_id if partner_id is not None else _choice(form.partner_id),
                human_book_id=_choice(form.human_book_id) if "human_book_id" in form else None,
            )
        except ValidationFailed as exc:
            add_field_errors(form, exc.errors, fallback="email")
            status = 422
        else:
            form.email.data = ""  # ready for the next person
            return render_template(
                "invitations/new.html", form=form, heading=heading, back_url=back_url,
                link=send_invitation(invitation, token), invited=invitation.email,
            )
    elif form.is_submitted():
        status = 422
    return render_template("invitations/new.html", form=form, heading=heading,
                           back_url=back_url, link=None, invited=None), status
