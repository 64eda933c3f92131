"""HTML forms. They collect and coerce input; the rules themselves live in the services."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional

from .reservations import ACCESSIBILITY_MAX, EMAIL_MAX, NAME_MAX


class BookingForm(FlaskForm):
    """A patron's booking: who, how many seats, needs, and the reader agreement."""

    name = StringField(
        "Your name",
        validators=[DataRequired("Enter your name."), Length(max=NAME_MAX)],
        render_kw={"autocomplete": "name"},
    )
    email = StringField(
        "E-mail address",
        validators=[
            DataRequired("Enter your e-mail address."),
            Length(max=EMAIL_MAX),
            Email("Enter a valid e-mail address, like name@example.org."),
        ],
        render_kw={"autocomplete": "email", "type": "email", "inputmode": "email"},
    )
    seats = IntegerField(
        "Seats",
        default=1,
        validators=[
            DataRequired("Enter how many seats you need (a whole number)."),
            NumberRange(min=1, message="Book at least 1 seat."),
        ],
        render_kw={"inputmode": "numeric"},
    )
    accessibility_needs = TextAreaField(
        "Accessibility needs (optional)",
        validators=[Optional(), Length(max=ACCESSIBILITY_MAX)],
    )
    accept_agreement = BooleanField("I have read and accept the reader agreement")

    def set_seat_limit(self, limit: int) -> None:
        """Let the browser know the most seats allowed (the service checks it again)."""
        self.seats.render_kw = {**(self.seats.render_kw or {}), "min": 1, "max": limit}


class ConfirmForm(FlaskForm):
    """A button that changes state: only its CSRF token matters."""


class EventFilterForm(FlaskForm):
    """Home page filters, read from the query string."""

    class Meta:
        csrf = False

    kind = SelectField(
        "Kind of event",
        choices=[("", "Any kind"), ("human_library", "Human Library"), ("program", "Program")],
        validate_choice=True,
    )
    language = SelectField("Language", choices=[("", "Any language")], validate_choice=True)
    partner = SelectField("Partner", choices=[("", "Any partner")], validate_choice=True)
