"""The reader's survey after a reading, reached by the signed link in the e-mail; no account."""
from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from booking.services import tokens as auth, feedback
from booking.domain.errors import AlreadyAnswered, DomainError, ValidationFailed
from booking.web.clients import limiter
from booking.web.forms import FeedbackForm
from booking.domain.models import utcnow
from .errors import add_field_errors, status_for

bp = Blueprint("feedback", __name__, url_prefix="/feedback")


def _survey_limit():
    return current_app.config["BOOKING_RATE_LIMIT"]


@bp.route("/<token>", methods=["GET", "POST"])
@limiter.limit(_survey_limit, methods=["POST"])
def survey(token: str):
    try:
        survey = feedback.find_survey(token)
    except auth.LinkInvalid as exc:
        return render_template("feedback/link_invalid.html", message=exc.message), 400
    booking = survey.booking
    if survey.answered:
        # A second answer changes nothing; said kindly, as the first one counted.
        again = request.method == "POST"
        return (render_template("feedback/thanks.html", booking=booking, again=again),
                409 if again else 200)
    now = utcnow()
    problem = feedback.survey_problem(booking, now)
    if problem is not None:
        return (render_template("feedback/survey.html", booking=booking, form=None,
                                problem=problem.message), status_for(problem))
    form = FeedbackForm()
    status, message = 200, None
    if form.validate_on_submit():
        try:
            feedback.submit_feedback(token, form.rating.data, form.would_recommend.data,
                                     form.changed_view.data, form.comment.data, now)
        except ValidationFailed as exc:
            add_field_errors(form, exc.errors)
            status = status_for(exc)
        except AlreadyAnswered:
            return render_template("feedback/thanks.html", booking=booking, again=True), 409
        except DomainError as exc:
            message, status = exc.message, status_for(exc)
        else:
            return redirect(url_for("feedback.survey", token=token), 303)
    elif form.is_submitted():
        status = 422
    return (render_template("feedback/survey.html", booking=booking, form=form,
                            problem=message), status)
