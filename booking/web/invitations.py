"""The invitation page shared by staff (/staff) and coordinators (/partner)."""
from __future__ import annotations

from flask import render_template
from flask_login import current_user

from booking.services import accounts
from booking.domain.commands import Invite
from booking.web.forms import InviteForm
from booking.domain.models import Role, utcnow
from .actions import submit


def invitation_page(form: InviteForm, *, role: Role | None, partner_id: int | None,
                    heading: str, back_url: str):
    """Show the invite form; on a valid POST invite the person and show their link.

    `role` and `partner_id` are fixed by the page when given (a coordinator's volunteers);
    otherwise they come from the form's own choices.
    """
    fixed = {name: value for name, value in (("role", role.value if role else None),
                                             ("partner_id", partner_id)) if value is not None}

    def page(status: int, problem: str | None, invited: accounts.Invited | None = None):
        return render_template(
            "invitations/new.html", form=form, heading=heading, back_url=back_url,
            problem=problem, link=invited.link if invited else None,
            invited=invited.invitation.email if invited else None,
        ), status

    def sent(invited: accounts.Invited):
        form.email.data = ""  # ready for the next person
        return page(200, None, invited)

    return submit(form, Invite,
                  lambda command: accounts.invite(current_user, command, now=utcnow()),
                  fields=fixed, fallback="email", done=sent, render=page)
