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
