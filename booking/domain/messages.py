"""Every sentence a person reads when what they entered is refused, in one table.

Commands (domain/commands.py) name these; forms, services and the API never write their own,
so a rule reads the same on every page, in the API and at the desk. Sentences with a blank
to fill are format strings: `{label}` is the field's name as the person sees it, `{limit}` a
number.
"""
from __future__ import annotations

# -- any field -----------------------------------------------------------------------------

#: Free text keeps line breaks and tabs, but no other control character.
CONTROL_CHARACTERS = "Remove the invisible control characters from this field."
#: One-line values take no control character at all, nor a line or paragraph separator.
ONE_LINE = ("Keep this on one line: remove line breaks, tabs and other invisible "
            "control characters.")
TOO_LONG = "{label} must be at most {limit} characters."
TOO_SHORT = "{label} must be at least {limit} characters."
NOT_TEXT = "{label} must be text."
NOT_A_CHOICE = "Choose one of the options offered."
NOT_YES_OR_NO = "{label} must be true or false."
WHOLE_NUMBER = "Enter a whole number, such as 1 or 2."
REQUIRED = "Enter {label}."
#: Comma-separated words: topics, language codes.
TOO_MANY_TAGS = "At most {items} entries of up to {length} characters each."
#: When a JSON body (or a form) is not a set of named fields at all.
NOT_AN_OBJECT = "Send the fields as a JSON object."
#: A date outside scheduling.YEARS (1900 to 2999).
YEARS_MESSAGE = "Enter a date between the years 1900 and 2999."
#: A wall-clock date and time (in a zone another field names) that is not one.
LOCAL_MOMENT = "Enter a date and time such as 2026-12-05 10:00."
#: A wall-clock time the zone's clocks never show: they go forward past it.
SKIPPED_TIME = ("{moment} does not exist in {zone} (the clocks go forward then). "
                "Choose another time.")

# -- people --------------------------------------------------------------------------------

INVALID_EMAIL = "Enter a valid e-mail address, like name@example.org."
INVALID_EMAIL_OR_EMPTY = "Enter a valid e-mail address, or leave it empty."

# -- booking ---------------------------------------------------------------------------------

PATRON_NAME_MISSING = "Enter your name."
PATRON_EMAIL_MISSING = "Enter your e-mail address."
SEATS_NOT_WHOLE = "Seats must be a whole number."
SEATS_MISSING = "Enter how many seats you need as a whole number."
SEATS_TOO_FEW = "Book at least 1 seat."
AGREEMENT_NEEDED = "Please read and accept the reader agreement."
AGREEMENT_NOT_YES_OR_NO = "accept_agreement must be true or false."
WALK_IN_NAME_MISSING = "Enter the walk-in's name."
WALK_IN_SEATS_MISSING = "Enter how many seats as a whole number."
WALK_IN_SEATS_TOO_FEW = "Seat at least 1 person."

# -- events (staff) ----------------------------------------------------------------------------

EVENT_TITLE_MISSING = "Give the event a title."
EVENT_KIND_UNKNOWN = "Choose Human Library or Program."
TIMEZONE_UNKNOWN = "Choose a time zone from the list, such as America/Chicago."
SLUG_MALFORMED = ("Use lower-case letters, digits and single hyphens, "
                  "such as human-library-spring.")
SLUG_TAKEN = "Another event already uses this address. Choose another."
EVENT_STARTS_MISSING = "Enter when the event starts."
EVENT_ENDS_MISSING = "Enter when the event ends."
EVENT_ENDS_BEFORE_START = "The event must end after it starts."
REGISTRATION_OPENS_AFTER_END = "Registration must open before the event ends."
REGISTRATION_CLOSES_BEFORE_OPENING = "Registration must close after it opens."
#: The per-patron limits an event sets (`label`: "Bookings per patron", "Seats per booking").
EVENT_LIMIT_MISSING = "Enter the {label}."
EVENT_LIMIT_RANGE = "{label} must be a whole number from 1 to {limit}."
CLONE_STARTS_MISSING = "Enter when the copy starts."
CLONE_IN_THE_PAST = "The copy must start in the future."
CANCEL_REASON_MISSING = "Give a reason: the patrons will read it."
HOST_ROLE_UNKNOWN = "Choose host, co-host or sponsor."
HOST_TWICE = "Each partner can appear only once."
HOST_NEEDED = "An event needs at least one host."
HOST_PARTNER_UNKNOWN = "One of these partners no longer exists. Reload the page."

# -- the desk ----------------------------------------------------------------------------------

HELD_SEATS_NOT_WHOLE = "Enter a whole number, such as 0 or 1."
HELD_SEATS_RANGE = "Hold back between 0 and {limit} seats per reading."
MARK_UNKNOWN = "Choose Checked in, No-show or Undo."
# -- partner area: books, sessions, availability, profiles ----------------------------------

BOOK_TITLE_MISSING = "Give the book a title."

SESSION_TITLE_MISSING = "Give the session a title."
LANGUAGE_MISSING = "Enter a language code such as en."
LANGUAGE_INVALID = "Enter a language code such as en, es or asl."
SESSION_SEATS_MISSING = "Enter how many seats."
SESSION_SEATS_RANGE = "Seats must be a whole number from 1 to {maximum}."
SESSION_STARTS_MISSING = "Enter a start time such as 14:00."
SESSION_ENDS_MISSING = "Enter an end time such as 15:30."
SESSION_ENDS_FIRST = "The session must end after it starts."
#: `{runs}`: the event's first and last local minute, such as 2031-06-14 09:00–17:00.
SESSION_OUTSIDE_EVENT = "The session must fit within the event, which runs {runs} local time."
TIME_PASSED = "Choose a time that has not passed yet."
PRESENTER_NOT_OURS = "Choose one of your organisation's volunteers, or nobody."

#: `{window}`: the window's day and times, such as 2031-06-14 10:00–12:00.
WINDOW_ENDS_FIRST = "The window {window} ends before it starts."
WINDOW_OUTSIDE_EVENT = "The window {window} is outside the event, which runs {runs} local time."
WINDOW_TOO_SHORT = "No {minutes}-minute reading fits in the window {window}."
WINDOWS_OVERLAP = "The windows starting {first} and {second} overlap."
WINDOW_STARTS_MISSING = "Enter a start time such as 10:00."
WINDOW_ENDS_MISSING = "Enter an end time such as 12:30."
READING_MINUTES_MISSING = "Enter the reading length."
READING_MINUTES_RANGE = "A reading lasts 5 to 240 minutes."
BREAK_MINUTES_MISSING = "Enter the break."
BREAK_MINUTES_RANGE = "A break lasts 0 to 120 minutes."
READERS_MISSING = "Enter how many readers."
READERS_RANGE = "Readers per reading must be 1 to 3."
REST_AFTER_RANGE = "Enter 1 or more, or leave it empty."
REST_MINUTES_MISSING = "Enter the rest length."
REST_MINUTES_RANGE = "A rest lasts 0 to 240 minutes."
#: Form coercion: a time typed in a box that takes hours and minutes.
CLOCK_TIME = "Enter a time as hours and minutes, such as 10:30."

PARTNER_NAME_MISSING = "Enter the organisation's name."
PARTNER_NAME_TAKEN = "A partner called “{name}” already exists. Choose another name."
PARTNER_NAME_RACE = ("Another partner with a name like this was added at the same moment. "
                     "Reload the staff page to see it, or choose another name.")
WEBSITE_INVALID = ("Enter a web address starting with https:// or http://, "
                   "like https://example.org.")
# -- accounts --------------------------------------------------------------------------------

#: The name a person gives on accepting an invitation; the same words as a patron's.
ACCOUNT_NAME_MISSING = PATRON_NAME_MISSING
#: Signing in and asking for a reset link: the person's own address.
ACCOUNT_EMAIL_MISSING = PATRON_EMAIL_MISSING
PASSWORD_TO_SIGN_IN_MISSING = "Enter your password."
PASSWORD_MISSING = "Choose a password."
PASSWORD_TOO_SHORT = "Use at least {limit} characters."
PASSWORD_TOO_LONG = "Use at most {limit} characters."
#: zxcvbn's own advice follows it (services/passwords.py).
PASSWORD_GUESSABLE = "This password is too common or too easy to guess."
PASSWORD_GUESSABLE_ADVICE = "Add a few unrelated words."
CONFIRM_MISSING = "Repeat the password."
CONFIRM_DIFFERS = "The two passwords are not the same."
CURRENT_PASSWORD_MISSING = "Enter your current password."
CURRENT_PASSWORD_WRONG = "That is not your current password."
SIGN_IN_FAILED = "That e-mail address and password do not match an account."
INVITE_EMAIL_MISSING = "Enter the e-mail address to invite."
EMAIL_TAKEN = "Someone with this e-mail address already has an account."
NO_SUCH_ACCOUNT = "There is no account with this e-mail address."
COORDINATOR_PARTNER_MISSING = "Choose the partner this coordinator works for."
VOLUNTEER_PARTNER_MISSING = "Choose the partner this volunteer works with."
NOT_THE_PARTNERS_BOOK = "Choose one of your partner's human books."
STAFF_HAVE_NO_PARTNER = "Staff accounts belong to the library, not to a partner."
PARTNER_NEEDED = "A {role} account needs the partner it works for."
NO_SUCH_PARTNER = "There is no partner with the slug {slug!r}."

# -- after a reading: the survey and the reflection ------------------------------------------

RATING_INVALID = "Choose a rating from 1 to 5."
RECOMMEND_INVALID = "Say whether you would recommend a reading to a friend."
CHANGED_VIEW_INVALID = "Say whether the reading changed how you see the topic."
DAY_RATING_INVALID = "Choose how the day went, from 1 to 5."
RETURN_INVALID = "Say whether you would be a book again."
#: A free-text answer longer than its limit; `{length}` is the answer's.
ANSWER_TOO_LONG = "Please keep it to {limit} characters (this is {length})."

# -- links and addresses ---------------------------------------------------------------------

#: A signed link that cannot be used; `{what}`: invitation, password reset, survey.
LINK_INVALID = "This {what} link is not valid."
LINK_GARBLED = "This {what} link is not valid. Check that you copied all of it."
LINK_EXPIRED = "This {what} link has expired. Ask for a new one."
SURVEY_LINK_INVALID = LINK_INVALID.format(what="survey")
NO_PUBLIC_EVENT = "There is no public event at this address."
NO_COHOSTED_EVENT = "Your organisation does not co-host an upcoming event at this address."

# -- listings (books and sessions alike) -----------------------------------------------------

#: `{status}`: the listing's state now, such as "submitted" or "approved".
ONLY_DRAFTS_SUBMITTED = "Only a draft can be sent for approval; this one is {status}."
