"""A volunteer's own page: their book, the events they can read at, their availability."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user

from booking.services import availability, feedback
from booking.web.access import roles_required
from booking.domain.commands import VolunteerReflection
from booking.web.forms import ReflectionForm
from booking.domain.models import Role, utcnow
from .actions import submit
from .errors import status_for
from .schedule import availability_page
from booking.domain import messages

bp = Blueprint("me", __name__, url_prefix="/me")


@bp.before_request
@roles_required(Role.VOLUNTEER)
def volunteers_only():
    return None


def _own_book():
    if current_user.human_book is None:
        abort(403, "Your account is not linked to a human book yet. Ask your coordinator.")
    return current_user.human_book


@bp.get("/")
def home():
    book = current_user.human_book
    now = utcnow()
    events = availability.partner_events(current_user.partner_id, now) if book else []
    slots = [s for e in events for s in availability.book_slots(e, book)] if book else []
    reflections = feedback.reflectable_events(book, now) if book else []
    return render_template("me/home.html", book=book, events=events, slots=slots,
                           reflections=reflections)


@bp.route("/events/<slug>/availability", methods=["GET", "POST"])
def book_availability(slug: str):
    book = _own_book()
    for event in availability.partner_events(current_user.partner_id, utcnow()):
        if event.slug == slug:
            return availability_page(
                book, event, page_url=url_for("me.book_availability", slug=slug),
                back_url=url_for("me.home"),
            )
    abort(404, messages.NO_COHOSTED_EVENT)


@bp.route("/events/<slug>/reflection", methods=["GET", "POST"])
def reflection(slug: str):
    book = _own_book()
    event = feedback.event_for_reflection(slug, current_user)
    if event is None:
        abort(404, "There is no event of yours at this address.")
    now = utcnow()
    problem = feedback.reflection_problem(current_user, event, book, now)
    if problem is not None:
        return (render_template("me/reflection.html", event=event, book=book, form=None,
                                problem=problem.message), status_for(problem))
    existing = feedback.find_reflection(event, book)
    form = ReflectionForm(data=_answers(existing) if existing else None)

    def thanked(_reflection):
        flash("Thank you for your reflection. You can revise it here at any time.", "success")
        return redirect(url_for("me.home"), 303)

    return submit(
        form, VolunteerReflection,
        lambda answers: feedback.submit_reflection(current_user, event, book, answers, now=now),
        done=thanked,
        render=lambda status, problem: (render_template(
            "me/reflection.html", event=event, book=book, form=form, problem=problem,
            revising=existing is not None), status),
    )


def _answers(reflection) -> dict:
    """A saved reflection as the form's values, to revise it."""
    return {"rating": str(reflection.rating), "went_well": reflection.went_well,
            "was_hard": reflection.was_hard,
            "would_return": "yes" if reflection.would_return else "no"}
