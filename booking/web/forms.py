"""HTML forms. They collect and coerce input; the rules themselves live in the services."""
from __future__ import annotations

from datetime import date, datetime, time

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    ValidationError,
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    StopValidation,
)

from booking.services.partners import ProfileFields
from booking.domain import messages
from booking.domain.commands import (
    EMAIL_MAX,
    PASSWORD_MAX,
    AcceptInvitation,
    ChangePassword,
    Command,
    ForgottenPassword,
    Invite,
    NewPassword,
    Patron,
    SurveyAnswer,
    VolunteerReflection,
    WalkIn,
    rule_of,
)
from booking.domain.scheduling import YEARS, YEARS_MESSAGE
from booking.domain.text import problem as text_problem


def strip(value):
    """Trim surrounding spaces, as people paste addresses with them."""
    return value.strip() if isinstance(value, str) else value


class PlainText:
    """The shared text rule (`booking.text`) on a field: one line, or free text (`multiline`).

    Put it after DataRequired or Optional: it stops the field's other checks, since its
    message is the one that says what to fix.
    """

    def __init__(self, *, multiline: bool = False):
        self.multiline = multiline

    def __call__(self, form, field):
        message = text_problem(field.data, multiline=self.multiline)
        if message:
            raise StopValidation(message)


#: Titles, names, venues, reasons, addresses: no line breaks, tabs or control characters.
ONE_LINE = PlainText()
#: Descriptions, notes, comments: line breaks and tabs, but no other control characters.
FREE_TEXT = PlainText(multiline=True)


class WholeNumberField(IntegerField):
    """An integer field whose parse error a patron understands."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError("Enter a whole number, such as 1 or 2.") from exc


def limits(command: type[Command], name: str, **extra) -> dict:
    """The HTML attributes a field takes from its command's rule (`required`, `maxlength`,
    `min`, `max`): the browser learns the limits the command enforces, which stay the only
    check of the value."""
    rule = rule_of(command, name)
    attributes: dict = {}
    if rule is not None:
        if rule.required and rule.kind != "flag":
            attributes["required"] = True
        if rule.min_length is not None:
            attributes["minlength"] = rule.min_length
        if rule.max_length is not None:
            attributes["maxlength"] = rule.max_length
        if rule.minimum is not None:
            attributes["min"] = rule.minimum
        if rule.maximum is not None:
            attributes["max"] = rule.maximum
    return {**attributes, **extra}


class BookingForm(FlaskForm):
    """A patron's booking (the Patron command): who, how many seats, needs, the agreement."""

    command = Patron

    name = StringField("Your name", render_kw=limits(Patron, "name", autocomplete="name"))
    email = StringField("E-mail address", render_kw=limits(
        Patron, "email", autocomplete="email", type="email", inputmode="email"))
    seats = WholeNumberField("Seats", default=1,
                             render_kw=limits(Patron, "seats", inputmode="numeric"))
    accessibility_needs = TextAreaField("Accessibility needs (optional)",
                                        render_kw=limits(Patron, "accessibility_needs"))
    accept_agreement = BooleanField("I have read and accept the reader agreement")

    def set_seat_limit(self, limit: int) -> None:
        """Let the browser know the most seats allowed (the service checks it)."""
        self.seats.render_kw = {**(self.seats.render_kw or {}), "min": 1, "max": limit}


class WalkInForm(FlaskForm):
    """A walk-in at the desk (the WalkIn command): one form per reading (give each a prefix)."""

    command = WalkIn

    name = StringField("Name", render_kw=limits(WalkIn, "name", autocomplete="off"))
    email = StringField("E-mail (optional)", render_kw=limits(
        WalkIn, "email", autocomplete="off", type="email", inputmode="email"))
    seats = WholeNumberField("Seats", default=1,
                             render_kw=limits(WalkIn, "seats", inputmode="numeric"))
    check_in = BooleanField("Checked in now", default=True)
    accept_agreement = BooleanField("Reader agreement explained and accepted")


class WalkInSeatsForm(FlaskForm):
    walk_in_seats = WholeNumberField(
        "Seats per reading held back for walk-ins",
        validators=[InputRequired("Enter a whole number, such as 0 or 1.")],
        render_kw={"inputmode": "numeric", "min": 0},
    )


class ConfirmForm(FlaskForm):
    """A button that changes state: only its CSRF token matters."""


class ConfirmHoldForm(FlaskForm):
    """Confirming a hold from its e-mailed link; remembering the browser is asked for, since
    libraries are full of shared computers."""

    remember = BooleanField(
        "Remember my address on this browser, to book in one step next time")


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


class _InYears:
    """For date fields: a parse error says what to type; far-off years are refused, not overflowed."""

    example = ""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(f"Enter {self.example}.") from exc
        if self.data is not None and self.data.year not in YEARS:
            self.data = None
            raise ValueError(YEARS_MESSAGE)


class ReportDateField(_InYears, DateField):
    example = "a date such as 2026-05-31"


class ListedChoiceField(SelectField):
    """A choice of ids; anything not offered is refused with a message that says so."""

    def pre_validate(self, form):
        if self.data and self.data not in {str(choice.value) for choice in self.choices}:
            raise ValidationError(f"Choose {self.label.text.lower()} from the list.")


class ReportFilterForm(FlaskForm):
    """Report filters, read from the query string."""

    class Meta:
        csrf = False

    starts_on = ReportDateField("From", validators=[Optional()])
    ends_on = ReportDateField("To", validators=[Optional()])
    event = ListedChoiceField("An event", default="", validate_choice=False)
    partner = ListedChoiceField("A partner", default="", validate_choice=False)

    def set_choices(self, events: list[tuple[int, str]], partners: list[tuple[int, str]]):
        self.event.choices = [SelectChoice("", "Every event")] + [
            SelectChoice(str(event_id), title) for event_id, title in events]
        self.partner.choices = [SelectChoice("", "Every partner")] + [
            SelectChoice(str(partner_id), name) for partner_id, name in partners]

    def validate_ends_on(self, field):
        if field.data and self.starts_on.data and field.data < self.starts_on.data:
            raise ValidationError("The end date must be on or after the start date.")


class LoginForm(FlaskForm):
    """Signing in. Not a write (it changes no record, only this browser's session), so it has
    no command: these checks only keep a value no account could have from the lookup."""

    email = StringField(
        "E-mail address",
        filters=[strip],
        # ONE_LINE: a NUL would reach the account lookup, which PostgreSQL refuses (a 500).
        validators=[DataRequired(messages.ACCOUNT_EMAIL_MISSING), ONE_LINE,
                    Length(max=EMAIL_MAX)],
        render_kw={"autocomplete": "username", "type": "email"},
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired(messages.PASSWORD_TO_SIGN_IN_MISSING), Length(max=PASSWORD_MAX)],
        render_kw={"autocomplete": "current-password"},
    )
    remember = BooleanField("Keep me signed in on this device")


class ForgotPasswordForm(FlaskForm):
    """Asking for a reset link (the ForgottenPassword command)."""

    command = ForgottenPassword

    email = StringField("E-mail address", render_kw=limits(
        ForgottenPassword, "email", autocomplete="username", type="email"))


def _new_password_fields(command: type[NewPassword]):
    """The new password and its repetition (a NewPassword command, or one built on it)."""
    password = PasswordField("New password", render_kw=limits(
        command, "password", autocomplete="new-password"))
    confirm = PasswordField("Repeat the password", render_kw=limits(
        command, "confirm", autocomplete="new-password"))
    return password, confirm


class ResetPasswordForm(FlaskForm):
    """A new password through a reset link (the NewPassword command)."""

    command = NewPassword

    password, confirm = _new_password_fields(NewPassword)


class ChangePasswordForm(FlaskForm):
    """A signed-in person's new password (the ChangePassword command)."""

    command = ChangePassword

    current_password = PasswordField("Current password", render_kw=limits(
        ChangePassword, "current_password", autocomplete="current-password"))
    password, confirm = _new_password_fields(ChangePassword)


class AcceptInvitationForm(FlaskForm):
    """Accepting an invitation (the AcceptInvitation command): a name and a password."""

    command = AcceptInvitation

    name = StringField("Your name", render_kw=limits(AcceptInvitation, "name",
                                                     autocomplete="name"))
    password, confirm = _new_password_fields(AcceptInvitation)


def _optional_id(value):
    """A select's value as an id, None for its empty "none" choice; anything else is kept as
    sent, to be refused as not offered."""
    if value == "":
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return value


class InviteForm(FlaskForm):
    """Invite a person by e-mail (the Invite command); the view offers the roles, partners or
    books the inviter may."""

    command = Invite

    email = StringField("Their e-mail address", render_kw=limits(Invite, "email", type="email"))
    role = SelectField("Role", default="")
    partner_id = SelectField("Partner", default="", coerce=_optional_id)
    human_book_id = SelectField("Human book", default="", coerce=_optional_id)


class BookForm(FlaskForm):
    """A human book listing, as its partner's coordinator edits it."""

    title = StringField(
        "Title", filters=[strip],
        validators=[DataRequired("Give the book a title."), ONE_LINE, Length(max=120)],
    )
    blurb = TextAreaField("Blurb", filters=[strip],
                          validators=[Optional(), FREE_TEXT, Length(max=2000)])
    topics = StringField("Topics", filters=[strip],
                         validators=[Optional(), ONE_LINE, Length(max=500)])
    languages = StringField(
        "Languages", filters=[strip], validators=[Optional(), ONE_LINE, Length(max=200)]
    )
    content_notes = TextAreaField(
        "Content notes", filters=[strip], validators=[Optional(), FREE_TEXT, Length(max=2000)]
    )
    volunteer_name = StringField(
        "Volunteer's name (private)", filters=[strip],
        validators=[Optional(), ONE_LINE, Length(max=200)]
    )
    volunteer_email = StringField(
        "Volunteer's e-mail (private)", filters=[strip],
        validators=[Optional(), ONE_LINE, Length(max=EMAIL_MAX),
                    Email("Enter a valid e-mail address, like name@example.org.")],
        render_kw={"type": "email"},
    )


class WindowForm(FlaskForm):
    """One availability window, in the event's local time."""

    day = SelectField("Day")
    starts = StringField("From (local time)", filters=[strip],
                         validators=[DataRequired("Enter a start time such as 10:00."), ONE_LINE],
                         render_kw={"type": "time"})
    ends = StringField("Until (local time)", filters=[strip],
                       validators=[DataRequired("Enter an end time such as 12:30."), ONE_LINE],
                       render_kw={"type": "time"})
    reading_minutes = WholeNumberField(
        "Reading length (minutes)", default=30,
        validators=[InputRequired("Enter the reading length."),
                    NumberRange(5, 240, "A reading lasts 5 to 240 minutes.")])
    break_minutes = WholeNumberField(
        "Break between readings (minutes)", default=10,
        validators=[InputRequired("Enter the break."),
                    NumberRange(0, 120, "A break lasts 0 to 120 minutes.")])
    readers = WholeNumberField(
        "Readers per reading", default=1,
        validators=[InputRequired("Enter how many readers."),
                    NumberRange(1, 3, "Readers per reading must be 1 to 3.")])
    rest_after = WholeNumberField(
        "Rest after this many readings (optional)",
        validators=[Optional(), NumberRange(1, 50, "Enter 1 or more, or leave it empty.")])
    rest_minutes = WholeNumberField(
        "Rest length (minutes)", default=20,
        validators=[InputRequired("Enter the rest length."),
                    NumberRange(0, 240, "A rest lasts 0 to 240 minutes.")])

    def local_span(self):
        """(start, end) naive local datetimes, or None with field errors set."""
        return local_span(self)


def local_span(form):
    """A form's day, starts and ends as (start, end) naive local datetimes, or None with
    field errors set."""
    try:
        day = date.fromisoformat(form.day.data)
    except (TypeError, ValueError):
        form.day.errors = ["Choose one of the event's days."]
        return None
    times = []
    for name in ("starts", "ends"):
        try:
            times.append(time.fromisoformat(form[name].data))
        except (TypeError, ValueError):
            form[name].errors = ["Enter a time as hours and minutes, such as 10:30."]
    if len(times) != 2:
        return None
    return datetime.combine(day, times[0]), datetime.combine(day, times[1])


class SessionForm(FlaskForm):
    """A program session, in the event's local time; the rules live in `programme`."""

    title = StringField(
        "Title", filters=[strip],
        validators=[DataRequired("Give the session a title."), ONE_LINE,
                    Length(max=200, message="A title has at most 200 characters.")],
    )
    description = TextAreaField(
        "Description", filters=[strip],
        validators=[Optional(), FREE_TEXT, Length(max=2000, message="At most 2000 characters.")],
    )
    language = StringField(
        "Language", filters=[strip], default="en",
        validators=[DataRequired("Enter a language code such as en."), ONE_LINE,
                    Length(max=35, message="Enter a language code such as en, es or asl.")],
    )
    audience = StringField(
        "Audience", filters=[strip],
        validators=[Optional(), ONE_LINE, Length(max=120, message="At most 120 characters.")],
    )
    day = SelectField("Day")
    starts = StringField("Starts (local time)", filters=[strip],
                         validators=[DataRequired("Enter a start time such as 14:00."), ONE_LINE],
                         render_kw={"type": "time"})
    ends = StringField("Ends (local time)", filters=[strip],
                       validators=[DataRequired("Enter an end time such as 15:30."), ONE_LINE],
                       render_kw={"type": "time"})
    seats = WholeNumberField(
        "Seats", default=20,
        validators=[InputRequired("Enter how many seats."),
                    NumberRange(1, 500, "Seats must be a whole number from 1 to 500.")])
    presenter_user_id = SelectField("Presenter (optional)", default="")

    def local_span(self):
        return local_span(self)


class ProfileForm(FlaskForm):
    """A partner's public profile."""

    name = StringField(
        "Organisation name", filters=[strip],
        validators=[DataRequired("Enter the organisation's name."), ONE_LINE,
                    Length(max=200, message="A name has at most 200 characters.")],
    )
    kind = StringField(
        "Kind of organisation", filters=[strip],
        validators=[Optional(), ONE_LINE, Length(max=80, message="At most 80 characters.")],
    )
    website = StringField(
        "Website", filters=[strip],
        validators=[Optional(), ONE_LINE, Length(max=300, message="At most 300 characters.")],
        render_kw={"type": "url", "inputmode": "url"},
    )
    description = TextAreaField(
        "Description", filters=[strip],
        validators=[Optional(), FREE_TEXT, Length(max=2000, message="At most 2000 characters.")],
    )
    contact_email = StringField(
        "Contact e-mail", filters=[strip],
        validators=[Optional(), ONE_LINE, Length(max=EMAIL_MAX),
                    Email("Enter a valid e-mail address, like name@example.org.")],
        render_kw={"type": "email", "inputmode": "email"},
    )

    def profile_fields(self) -> ProfileFields:
        """What was entered, for `partners.check_profile` to judge."""
        return ProfileFields(name=self.name.data or "", kind=self.kind.data or "",
                             website=self.website.data or "",
                             description=self.description.data or "",
                             contact_email=self.contact_email.data or "")


class LocalDateTimeField(_InYears, DateTimeLocalField):
    """A local date and time (naive: the event's zone applies), with a message people follow."""

    example = "a date and time such as 2026-12-05 10:00"

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, format=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M",
                                                    "%Y-%m-%dT%H:%M:%S"], **kwargs)



def _limit(label: str):
    return WholeNumberField(label, validators=[
        InputRequired(f"Enter the {label.lower()}."),
        NumberRange(1, 50, f"{label} must be from 1 to 50."),
    ])


class EventForm(FlaskForm):
    """An event as staff enter it; the service checks it all again."""

    title = StringField("Title", filters=[strip],
                        validators=[DataRequired("Give the event a title."), ONE_LINE,
                                    Length(max=200)])
    slug = StringField("Web address (slug)", filters=[strip],
                       validators=[Optional(), ONE_LINE, Length(max=80)])
    kind = SelectField("Kind", choices=[SelectChoice("human_library", "Human Library"),
                                        SelectChoice("program", "Program")])
    description = TextAreaField("Description", filters=[strip],
                                validators=[Optional(), FREE_TEXT, Length(max=5000)])
    venue = StringField("Venue", filters=[strip],
                        validators=[Optional(), ONE_LINE, Length(max=300)])
    accessibility_notes = TextAreaField("Accessibility notes", filters=[strip],
                                        validators=[Optional(), FREE_TEXT, Length(max=5000)])
    timezone = SelectField("Time zone", default="America/Chicago")
    starts = LocalDateTimeField("Starts (local time)",
                                validators=[InputRequired("Enter when the event starts.")])
    ends = LocalDateTimeField("Ends (local time)",
                              validators=[InputRequired("Enter when the event ends.")])
    registration_opens = LocalDateTimeField("Registration opens (optional)",
                                            validators=[Optional()])
    registration_closes = LocalDateTimeField("Registration closes (optional)",
                                             validators=[Optional()])
    max_bookings_per_patron = _limit("Bookings per patron")
    max_seats_per_booking = _limit("Seats per booking")
    agreement_text = TextAreaField("Reader agreement", filters=[strip],
                                   validators=[Optional(), FREE_TEXT, Length(max=10000)])


class CloneEventForm(FlaskForm):
    starts = LocalDateTimeField("The copy starts (local time)",
                                validators=[InputRequired("Enter when the copy starts.")])


class CancelForm(FlaskForm):
    """Cancelling an event or a reading: the reason goes to every patron."""

    reason = StringField("Reason for the patrons", filters=[strip], validators=[
        DataRequired("Give a reason: the patrons will read it."),
        ONE_LINE,
        Length(max=300, message="At most 300 characters."),
    ])


HOST_ROLE_CHOICES = [SelectChoice("", "Not taking part"), SelectChoice("host", "Host"),
                     SelectChoice("co-host", "Co-host"), SelectChoice("sponsor", "Sponsor")]


def hosts_form(partners, roles: dict[int, str]) -> FlaskForm:
    """One role select per partner, named `partner_<id>`, preset to its current role."""

    class HostsForm(FlaskForm):
        pass

    for partner in partners:
        setattr(HostsForm, f"partner_{partner.id}", SelectField(
            partner.name, choices=HOST_ROLE_CHOICES, default=roles.get(partner.id, "")))
    return HostsForm()


RATING_CHOICES = [SelectChoice("1", "1, poor"), SelectChoice("2", "2"), SelectChoice("3", "3"),
                  SelectChoice("4", "4"), SelectChoice("5", "5, excellent")]
YES_NO_CHOICES = [SelectChoice("yes", "Yes"), SelectChoice("no", "No")]


def _answer(label: str, choices) -> RadioField:
    """A radio group whose answer the command checks (and words the message for)."""
    return RadioField(label, choices=choices, validate_choice=False)


class FeedbackForm(FlaskForm):
    """The reader's short survey after a reading (the SurveyAnswer command)."""

    command = SurveyAnswer

    rating = _answer("How was the reading?", RATING_CHOICES)
    would_recommend = _answer("Would you recommend a Human Library reading to a friend?",
                              YES_NO_CHOICES)
    changed_view = _answer("Did it change how you see the topic?", [
        SelectChoice("yes", "Yes"), SelectChoice("a_little", "A little"),
        SelectChoice("no", "No"),
    ])
    # No maxlength from the command's limit: the browser would cut a pasted answer silently,
    # where the command's sentence says how long it is.
    comment = TextAreaField("Anything you would like to tell us? (optional)")


class ReflectionForm(FlaskForm):
    """A volunteer's reflection on their readings at an event (the VolunteerReflection
    command)."""

    command = VolunteerReflection

    rating = _answer("How did the day go for you?", RATING_CHOICES)
    went_well = TextAreaField("What went well? (optional)")  # no maxlength: see FeedbackForm
    was_hard = TextAreaField("What was hard? (optional)")
    would_return = _answer("Would you be a book again?", YES_NO_CHOICES)
