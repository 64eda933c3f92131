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
#: When a JSON body (or a form) is not a set of named fields at all.
NOT_AN_OBJECT = "Send the fields as a JSON object."

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
