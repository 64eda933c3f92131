"""The invitation page shared by staff (/staff) and coordinators (/partner), and the one place
an invitation link leaves the application."""
from __future__ import annotations

from flask import current_app, render_template, url_for
from flask_login import current_user
from wtforms import SelectField

from .. import accounts, auth
from ..errors import ValidationFailed
from ..forms import InviteForm
from ..models import Role


def send_invitation(invitation: auth.Invitation, token: str) -> str:
    """Build the invitation link and hand it on; returns the link to show the inviter.

    There is no e-mail sending yet: the link goes to the application log. Wire the e-mail here.
    """
    link = url_for("auth.accept_invitation", token=token, _external=True)
    current_app.logger.warning("Invitation link for %s (%s): %s",
                               invitation.email, invitation.role.value, link)
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
            for name, messages in exc.errors.items():
                target = name if name in form else "email"
                form[target].errors = list(form[target].errors) + messages
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
