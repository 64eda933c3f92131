"""HTML forms. They render, and collect and coerce input (with CSRF); the rules live in the
commands (domain/commands.py), from which the forms take their limits."""
from __future__ import annotations

from datetime import date, datetime, time

from flask import request
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
    TimeField,
)
from wtforms.validators import DataRequired, Length, Optional, StopValidation, ValidationError

from booking.domain import messages
from booking.domain.commands import (
    EMAIL_MAX,
    MARKS,
    PASSWORD_MAX,
    AcceptInvitation,
    Attendance,
    BookListing,
    Cancellation,
    ChangePassword,
    CloneEvent,
    Command,
    Confirmation,
    EventDetails,
    ForgottenPassword,
    Invite,
    NewPassword,
    Patron,
    Profile,
    SeatsHeldBack,
    SessionListing,
    SurveyAnswer,
    VolunteerReflection,
    WalkIn,
    Window,
    rule_of,
)
from booking.domain.scheduling import YEARS
from booking.domain.text import problem as text_problem
from booking.domain.timezones import TIMEZONES


def strip(value):
    """Trim surrounding spaces, as people paste addresses with them."""
    return value.strip() if isinstance(value, str) else value


class PlainText:
    """The shared text rule (domain/text.py) on a field: one line, or free text (`multiline`).

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


class WholeNumberField(IntegerField):
    """A whole number. A box left empty reaches the command as empty (""), so that the command
    says what is missing (or takes its default); anything else that is not a whole number is
    told at once, in words a patron understands."""

    def process_formdata(self, valuelist):
        if valuelist and isinstance(valuelist[0], str) and not valuelist[0].strip():
            self.data = ""
            return
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(messages.WHOLE_NUMBER) from exc


#: A form built without `formdata` reads what was posted (Flask-WTF's own default, narrowed).
_POSTED = object()


class Form(FlaskForm):
    """The base of every form here: it reads the posted form's text fields, nothing else.

    Flask-WTF would also hand the fields an uploaded file (a multipart post may carry one under
    any field's name) or a JSON body's values as they come (a list, a number, a body that is
    no object), which no field here can read: the coercions and validators fail with a 500.
    Such a post is read as the form with those fields left empty, for the command to refuse.
    """

    def __init__(self, formdata=_POSTED, **kwargs):
        if formdata is _POSTED:
            submitted = request.method in ("POST", "PUT", "PATCH", "DELETE")
            formdata = request.form if submitted and request.form else None
        super().__init__(formdata=formdata, **kwargs)


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


class BookingForm(Form):
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


class WalkInForm(Form):
    """A walk-in at the desk (the WalkIn command): one form per reading (give each a prefix)."""

    command = WalkIn

    name = StringField("Name", render_kw=limits(WalkIn, "name", autocomplete="off"))
    email = StringField("E-mail (optional)", render_kw=limits(
        WalkIn, "email", autocomplete="off", type="email", inputmode="email"))
    seats = WholeNumberField("Seats", default=1,
                             render_kw=limits(WalkIn, "seats", inputmode="numeric"))
    check_in = BooleanField("Checked in now", default=True)
    accept_agreement = BooleanField("Reader agreement explained and accepted")


class WalkInSeatsForm(Form):
    """The seats of each reading the desk holds back for walk-ins (the SeatsHeldBack command)."""

    command = SeatsHeldBack

    walk_in_seats = WholeNumberField(
        "Seats per reading held back for walk-ins",
        render_kw=limits(SeatsHeldBack, "walk_in_seats", inputmode="numeric"),
    )


class ConfirmForm(Form):
    """A button that changes state (the Confirmation command): only its CSRF token matters."""

    command = Confirmation


class AttendanceForm(Form):
    """The desk's mark on a booking (the Attendance command): one button per mark."""

    command = Attendance

    mark = SelectField("Mark", choices=list(MARKS), validate_choice=False)


class ConfirmHoldForm(Form):
    """Confirming a hold from its e-mailed link (the Confirmation command); remembering the
    browser is asked for, since libraries are full of shared computers, and is the page's
    business, not the booking's."""

    command = Confirmation

    remember = BooleanField(
        "Remember my address on this browser, to book in one step next time")


class EventFilterForm(Form):
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
            raise ValueError(messages.YEARS_MESSAGE)


class ReportDateField(_InYears, DateField):
    example = "a date such as 2026-05-31"


class ListedChoiceField(SelectField):
    """A choice of ids; anything not offered is refused with a message that says so."""

    def pre_validate(self, form):
        if self.data and self.data not in {str(choice.value) for choice in self.choices}:
            raise ValidationError(f"Choose {self.label.text.lower()} from the list.")


class ReportFilterForm(Form):
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


class LoginForm(Form):
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


class ForgotPasswordForm(Form):
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


class ResetPasswordForm(Form):
    """A new password through a reset link (the NewPassword command)."""

    command = NewPassword

    password, confirm = _new_password_fields(NewPassword)


class ChangePasswordForm(Form):
    """A signed-in person's new password (the ChangePassword command)."""

    command = ChangePassword

    current_password = PasswordField("Current password", render_kw=limits(
        ChangePassword, "current_password", autocomplete="current-password"))
    password, confirm = _new_password_fields(ChangePassword)


class AcceptInvitationForm(Form):
    """Accepting an invitation (the AcceptInvitation command): a name and a password."""

    command = AcceptInvitation

    name = StringField("Your name", render_kw=limits(AcceptInvitation, "name",
                                                     autocomplete="name"))
    password, confirm = _new_password_fields(AcceptInvitation)


def optional_id(value):
    """A select's value as an id (None for its empty "none" choice); anything else is kept as
    it came, for the select to refuse as not offered."""
    if value is None or value == "":
        return None
    return int(value) if isinstance(value, str) and value.isascii() and value.isdigit() \
        else value


class InviteForm(Form):
    """Invite a person by e-mail (the Invite command); the view offers the roles, partners or
    books the inviter may."""

    command = Invite

    email = StringField("Their e-mail address", render_kw=limits(Invite, "email", type="email"))
    role = SelectField("Role", default="")
    partner_id = SelectField("Partner", default="", coerce=optional_id)
    human_book_id = SelectField("Human book", default="", coerce=optional_id)


class BookForm(Form):
    """A human book listing (the BookListing command), as its partner's coordinator edits it."""

    command = BookListing

    title = StringField("Title", render_kw=limits(BookListing, "title"))
    blurb = TextAreaField("Blurb", render_kw=limits(BookListing, "blurb"))
    topics = StringField("Topics", render_kw=limits(BookListing, "topics"))
    languages = StringField("Languages", render_kw=limits(BookListing, "languages"))
    content_notes = TextAreaField("Content notes", render_kw=limits(BookListing, "content_notes"))
    volunteer_name = StringField("Volunteer's name (private)",
                                 render_kw=limits(BookListing, "volunteer_name"))
    volunteer_email = StringField("Volunteer's e-mail (private)",
                                  render_kw=limits(BookListing, "volunteer_email", type="email"))


class ClockField(TimeField):
    """A time of day typed as hours and minutes; empty is None, for the command to say what is
    missing."""

    def process_formdata(self, valuelist):
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        try:
            self.data = time.fromisoformat(valuelist[0].strip())
        except ValueError:
            self.data = None
        if self.data is None or self.data.tzinfo is not None:
            self.data = None
            raise ValueError(messages.CLOCK_TIME)


class _LocalTimes:
    """A form with a `day` select and `starts` and `ends` times, whose command takes them as
    two local date-times."""

    def local_times(self) -> dict[str, datetime | None]:
        """`starts` and `ends` as naive local datetimes on the chosen day (None where the day
        or the time is missing or unreadable: the form or the command says so)."""
        try:
            day = date.fromisoformat(self.day.data)
        except (TypeError, ValueError):
            day = None
        return {name: datetime.combine(day, self[name].data)
                if day is not None and isinstance(self[name].data, time) else None
                for name in ("starts", "ends")}


class WindowForm(_LocalTimes, Form):
    """One availability window (the Window command), in the event's local time."""

    command = Window

    day = SelectField("Day")
    starts = ClockField("From (local time)", render_kw=limits(Window, "starts"))
    ends = ClockField("Until (local time)", render_kw=limits(Window, "ends"))
    reading_minutes = WholeNumberField("Reading length (minutes)", default=30,
                                 render_kw=limits(Window, "reading_minutes"))
    break_minutes = WholeNumberField("Break between readings (minutes)", default=10,
                               render_kw=limits(Window, "break_minutes"))
    readers = WholeNumberField("Readers per reading", default=1, render_kw=limits(Window, "readers"))
    rest_after = WholeNumberField("Rest after this many readings (optional)",
                            render_kw=limits(Window, "rest_after"))
    rest_minutes = WholeNumberField("Rest length (minutes)", default=20,
                              render_kw=limits(Window, "rest_minutes"))


class SessionForm(_LocalTimes, Form):
    """A program session (the SessionListing command), in the event's local time."""

    command = SessionListing

    title = StringField("Title", render_kw=limits(SessionListing, "title"))
    description = TextAreaField("Description", render_kw=limits(SessionListing, "description"))
    language = StringField("Language", default="en",
                           render_kw=limits(SessionListing, "language"))
    audience = StringField("Audience", render_kw=limits(SessionListing, "audience"))
    day = SelectField("Day")
    starts = ClockField("Starts (local time)", render_kw=limits(SessionListing, "starts"))
    ends = ClockField("Ends (local time)", render_kw=limits(SessionListing, "ends"))
    seats = WholeNumberField("Seats", default=20, render_kw=limits(SessionListing, "seats"))
    presenter_user_id = SelectField("Presenter (optional)", default=None, coerce=optional_id)


class ProfileForm(Form):
    """A partner's public profile (the Profile command)."""

    command = Profile

    name = StringField("Organisation name", render_kw=limits(Profile, "name"))
    kind = StringField("Kind of organisation", render_kw=limits(Profile, "kind"))
    website = StringField("Website", render_kw=limits(Profile, "website", type="url",
                                                       inputmode="url"))
    description = TextAreaField("Description", render_kw=limits(Profile, "description"))
    contact_email = StringField("Contact e-mail", render_kw=limits(
        Profile, "contact_email", type="email", inputmode="email"))


class LocalDateTimeField(DateTimeLocalField):
    """A local date and time (naive: the event's zone applies), with a message people follow;
    its command checks the value (the years, the clocks of the zone)."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, format=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M",
                                                    "%Y-%m-%dT%H:%M:%S"], **kwargs)

    def process_formdata(self, valuelist):
        if not "".join(valuelist).strip():
            self.data = None  # left empty: the command says whether it may be
            return
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(messages.LOCAL_MOMENT) from exc


class EventForm(Form):
    """An event as staff enter it (the EventDetails command)."""

    command = EventDetails

    title = StringField("Title", render_kw=limits(EventDetails, "title"))
    slug = StringField("Web address (slug)", render_kw=limits(EventDetails, "slug"))
    kind = SelectField("Kind", choices=[SelectChoice("human_library", "Human Library"),
                                        SelectChoice("program", "Program")],
                       validate_choice=False)
    description = TextAreaField("Description", render_kw=limits(EventDetails, "description"))
    venue = StringField("Venue", render_kw=limits(EventDetails, "venue"))
    accessibility_notes = TextAreaField("Accessibility notes",
                                        render_kw=limits(EventDetails, "accessibility_notes"))
    timezone = SelectField("Time zone", choices=TIMEZONES, default="America/Chicago",
                           validate_choice=False)
    starts = LocalDateTimeField("Starts (local time)", render_kw=limits(EventDetails, "starts"))
    ends = LocalDateTimeField("Ends (local time)", render_kw=limits(EventDetails, "ends"))
    registration_opens = LocalDateTimeField("Registration opens (optional)")
    registration_closes = LocalDateTimeField("Registration closes (optional)")
    max_bookings_per_patron = WholeNumberField("Bookings per patron", render_kw=limits(
        EventDetails, "max_bookings_per_patron", inputmode="numeric"))
    max_seats_per_booking = WholeNumberField("Seats per booking", render_kw=limits(
        EventDetails, "max_seats_per_booking", inputmode="numeric"))
    agreement_text = TextAreaField("Reader agreement",
                                   render_kw=limits(EventDetails, "agreement_text"))


class CloneEventForm(Form):
    """A copy of an event at another time (the CloneEvent command)."""

    command = CloneEvent

    starts = LocalDateTimeField("The copy starts (local time)",
                                render_kw=limits(CloneEvent, "starts"))


class CancelForm(Form):
    """Cancelling an event or a reading (the Cancellation command): the reason goes to every
    patron."""

    command = Cancellation

    reason = StringField("Reason for the patrons", render_kw=limits(Cancellation, "reason"))


HOST_ROLE_CHOICES = [SelectChoice("", "Not taking part"), SelectChoice("host", "Host"),
                     SelectChoice("co-host", "Co-host"), SelectChoice("sponsor", "Sponsor")]


def hosts_form(partners, roles: dict[int, str]) -> FlaskForm:
    """One role select per partner, named `partner_<id>`, preset to its current role; the
    Hosts command judges the roles chosen (`chosen`)."""

    class HostsForm(Form):
        def chosen(self) -> list[tuple[int, str]]:
            """(partner id, role) of each partner taking part, in the page's order."""
            return [(partner.id, self[f"partner_{partner.id}"].data) for partner in partners
                    if self[f"partner_{partner.id}"].data]

    for partner in partners:
        setattr(HostsForm, f"partner_{partner.id}", SelectField(
            partner.name, choices=HOST_ROLE_CHOICES, default=roles.get(partner.id, ""),
            validate_choice=False))
    return HostsForm()


RATING_CHOICES = [SelectChoice("1", "1, poor"), SelectChoice("2", "2"), SelectChoice("3", "3"),
                  SelectChoice("4", "4"), SelectChoice("5", "5, excellent")]
YES_NO_CHOICES = [SelectChoice("yes", "Yes"), SelectChoice("no", "No")]


def _answer(label: str, choices) -> RadioField:
    """A radio group whose answer the command checks (and words the message for)."""
    return RadioField(label, choices=choices, validate_choice=False)


class FeedbackForm(Form):
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


class ReflectionForm(Form):
    """A volunteer's reflection on their readings at an event (the VolunteerReflection
    command)."""

    command = VolunteerReflection

    rating = _answer("How did the day go for you?", RATING_CHOICES)
    went_well = TextAreaField("What went well? (optional)")  # no maxlength: see FeedbackForm
    was_hard = TextAreaField("What was hard? (optional)")
    would_return = _answer("Would you be a book again?", YES_NO_CHOICES)
