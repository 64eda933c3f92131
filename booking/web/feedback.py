"""The reader's survey after a reading, reached by the signed link in the e-mail; no account."""
from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from booking.services import feedback
from booking.domain.commands import SurveyAnswer
from booking.domain.errors import AlreadyAnswered, LinkInvalid
from booking.web.clients import limiter
from booking.web.forms import FeedbackForm
from booking.domain.models import utcnow
from .actions import submit
from .errors import status_for

bp = Blueprint("feedback", __name__, url_prefix="/feedback")


def _survey_limit():
    return current_app.config["BOOKING_RATE_LIMIT"]


@bp.route("/<token>", methods=["GET", "POST"])
@limiter.limit(_survey_limit, methods=["POST"])
def survey(token: str):
    try:
        survey = feedback.find_survey(token)
    except LinkInvalid as exc:
        return render_template("feedback/link_invalid.html", message=exc.message), 400
    booking = survey.booking

    def thanks(again: bool):
        # A second answer changes nothing; said kindly, as the first one counted.
        return (render_template("feedback/thanks.html", booking=booking, again=again),
                409 if again else 200)

    if survey.answered:
        return thanks(again=request.method == "POST")
    now = utcnow()
    problem = feedback.survey_problem(booking, now)
    if problem is not None:
        return (render_template("feedback/survey.html", booking=booking, form=None,
                                problem=problem.message), status_for(problem))
    form = FeedbackForm()
    return submit(
        form, SurveyAnswer,
        lambda answer: feedback.submit_feedback(token, answer, now=now),
        done=lambda _feedback: redirect(url_for("feedback.survey", token=token), 303),
        refusals={AlreadyAnswered: lambda _exc: thanks(again=True)},
        render=lambda status, problem: (render_template(
            "feedback/survey.html", booking=booking, form=form, problem=problem), status),
    )
