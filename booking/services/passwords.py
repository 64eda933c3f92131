"""Passwords: one hashing method, a check that takes as long whether or not the account exists,
and zxcvbn's verdict on how easy a new password is to guess."""
from __future__ import annotations

import re
import secrets
from functools import cache
from typing import Iterable

from flask import current_app, has_app_context
from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn import zxcvbn

from booking.domain import messages

#: Werkzeug's default: slow on purpose, against guessing from a stolen database.
HASH_METHOD = "scrypt"
#: Under TESTING only: the suite hashes hundreds of passwords.
TESTING_HASH_METHOD = "pbkdf2:sha256:1000"
#: zxcvbn's score (0 to 4) a new password needs. 3 refuses every password on its lists of
#: common and breached passwords, words and names, with their usual variations.
MIN_SCORE = 3
#: zxcvbn refuses to score longer passwords (its matching grows fast with the length); the
#: tail of a longer one only adds to its strength.
SCORED_LENGTH = 72


def hash_method() -> str:
    """The method new hashes use: HASH_METHOD, or the cheap one under TESTING."""
    testing = has_app_context() and current_app.config.get("TESTING")
    return TESTING_HASH_METHOD if testing else HASH_METHOD


def hash_password(password: str) -> str:
    """A salted hash of `password` to store."""
    return generate_password_hash(password, method=hash_method())


def set_password(user, password: str) -> None:
    """Store a hash of `password` as `user`'s password."""
    user.password_hash = hash_password(password)


def matches(password_hash: str | None, password: str) -> bool:
    """Whether `password` is the one `password_hash` was made from.

    Without a hash (no such account, or one without a password) a dummy hash of the same
    method is checked all the same, so the answer takes as long and tells nothing.
    """
    if not password_hash:
        check_password_hash(_dummy_hash(hash_method()), password)
        return False
    return check_password_hash(password_hash, password)


@cache
def _dummy_hash(method: str) -> str:
    return generate_password_hash(secrets.token_urlsafe(16), method=method)


def guessable(password: str, hints: Iterable[str] = ()) -> str | None:
    """Why `password` is too easy to guess (common, breached, a word, a name, the person's own
    e-mail or name among `hints`), or None when it is strong enough."""
    # The whole e-mail or name, the address's local part, and each word of them.
    words = {piece for hint in hints if hint
             for piece in (hint.lower(), hint.lower().split("@")[0],
                           *re.split(r"[^a-z0-9]+", hint.lower()))
             if len(piece) > 2}
    verdict = zxcvbn(password[:SCORED_LENGTH], user_inputs=sorted(words))
    if verdict["score"] >= MIN_SCORE:
        return None
    advice = [line for line in (verdict["feedback"]["warning"],
                                *verdict["feedback"]["suggestions"]) if line]
    return " ".join([messages.PASSWORD_GUESSABLE,
                     *(advice or [messages.PASSWORD_GUESSABLE_ADVICE])])
