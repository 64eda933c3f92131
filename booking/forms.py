"""HTML forms. They collect and coerce input; the rules themselves live in the services."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional

from .reservations import ACCESSIBILITY_MAX, EMAIL_MAX, NAME_MAX


def strip(value):
    """Trim surrounding spaces, as people paste addresses with them."""
    return value.strip() if isinstance(value, str) else value


class WholeNumberField(IntegerField):
    """An integer field whose parse error a patron understands."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError("Enter a whole number, such as 1 or 2.") from exc


class BookingForm(FlaskForm):
    """A patron's booking: who, how many seats, needs, and the reader agreement."""

    name = StringField(
        "Your name",
        filters=[strip],
        validators=[
            DataRequired("Enter your name."),
            Length(max=NAME_MAX, message=f"Name must be at most {NAME_MAX} characters."),
        ],
        render_kw={"autocomplete": "name"},
    )
    email = StringField(
        "E-mail address",
        filters=[strip],
        validators=[
            DataRequired("Enter your e-mail address."),
            Length(max=EMAIL_MAX, message=f"E-mail must be at most {EMAIL_MAX} characters."),
            Email("Enter a valid e-mail address, like name@example.org."),
        ],
        render_kw={"autocomplete": "email", "type": "email", "inputmode": "email"},
    )
    seats = WholeNumberField(
        "Seats",
        default=1,
        validators=[
            InputRequired("Enter how many seats you need as a whole number."),
            NumberRange(min=1, message="Book at least 1 seat."),
        ],
        render_kw={"inputmode": "numeric"},
    )
    accessibility_needs = TextAreaField(
        "Accessibility needs (optional)",
        validators=[
            Optional(),
            Length(
                max=ACCESSIBILITY_MAX,
                message=f"Accessibility needs must be at most {ACCESSIBILITY_MAX} characters.",
            ),
        ],
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
        choices=[
            SelectChoice("", "Any kind"),
            SelectChoice("human_library", "Human Library"),
            SelectChoice("program", "Program"),
        ],
        default="",
    )
    language = SelectField("Language", default="")
    partner = SelectField("Partner", default="")

    def set_choices(self, languages: list[tuple[str, str]], partners: list[tuple[str, str]]):
        """Offer only the languages and partners found among upcoming events."""
        self.language.choices = [SelectChoice("", "Any language")] + [
            SelectChoice(code, name) for code, name in languages
        ]
        self.partner.choices = [SelectChoice("", "Any partner")] + [
            SelectChoice(slug, name) for slug, name in partners
        ]
