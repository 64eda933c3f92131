"""The availability page, shared by coordinators (/partner) and volunteers (/me)."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import flash, redirect, render_template, request
from flask_login import current_user

from booking.services import availability
from booking.services.availability import REMOVED_REASON
from booking.domain.commands import Schedule, Window
from booking.domain.errors import ConfirmationNeeded
from booking.web.forms import ConfirmForm, WindowForm
from booking.domain.models import Event, HumanBook, Role, utcnow
from .actions import submit
from .converters import MAX_ID


def event_days(event: Event) -> list[tuple[str, str]]:
    """The local dates an event spans, as select choices."""
    zone = ZoneInfo(event.timezone)
    day, last = event.starts_at.astimezone(zone).date(), event.ends_at.astimezone(zone).date()
    days = []
    while day <= last:
        days.append((day.isoformat(), f"{day:%A} {day.day} {day:%B %Y}"))
        day += timedelta(days=1)
    return days


def _with_query(url: str, **params) -> str:
    """`url` with more query parameters (it may already carry some, such as `partner`)."""
    return url + ("&" if "?" in url else "?") + urlencode(params)


def confirmed_bookings() -> set[int]:
    """The ids of the bookings the confirmation page listed, as posted back with it.

    Anything else (a forged or mangled value) is left out: at worst the person is shown the
    list again, and nothing changes.
    """
    return {int(value) for value in request.form.getlist("confirm_booking")
            if value.isascii() and value.isdigit() and 0 < int(value) <= MAX_ID}


def confirmation_page(exc: ConfirmationNeeded, *, event: Event | None, page_url: str,
                      default_reason: str, resource_label: str = "Reading",
                      back_url: str | None = None):
    """Show the bookings a change would cancel and ask to confirm (names only for staff).

    The form posts the entered fields back with the ids of the bookings listed, so that the
    service cancels those and no others. Without an `event` (a book's readings at several
    events) each row names its own event.
    """
    return render_template(
        "schedule/confirm.html", event=event, plan=exc.plan, message=exc.message,
        unseen=exc.unseen, page_url=page_url, back_url=back_url,
        show_names=current_user.role == Role.STAFF, default_reason=default_reason,
        reason_max=availability.REASON_MAX,
        resource_label=resource_label,
        fields={k: v for k, v in request.form.items()
                if k not in ("csrf_token", "confirm_booking", "reason")},
    ), 409


def reason_given(default: str) -> str:
    """The reason for the readers typed on the confirmation page, else `default`."""
    return (request.form.get("reason") or "").strip() or default


def _editing(windows: list[Window]) -> int | None:
    """The index of the window being changed (`?edit=` to open it, `replace` to save it)."""
    if request.method == "POST":
        index = request.form.get("replace", type=int)
    else:
        index = request.args.get("edit", type=int)
    if index is None or not 0 <= index < len(windows):
        return None
    return index


def _window_data(window: Window) -> dict:
    return {"day": window.starts.date().isoformat(), "starts": window.starts.time(),
            "ends": window.ends.time(), **window.model_dump(exclude={"starts", "ends"})}


def availability_page(book: HumanBook, event: Event, *, page_url: str, back_url: str):
    """Show a book's windows at an event; add, change or remove one, confirming any lost booking."""
    windows = availability.windows_of(event, book)
    editing = _editing(windows)
    if request.method == "GET" and editing is not None:
        form = WindowForm(formdata=None, data=_window_data(windows[editing]))
    else:
        form = WindowForm()
    form.day.choices = event_days(event)

    def render(status: int, problem: str | None):
        return render_template(
            "schedule/availability.html", book=book, event=event, windows=windows, form=form,
            slots=availability.book_slots(event, book), problem=problem, page_url=page_url,
            back_url=back_url, remove_form=ConfirmForm(), editing=editing,
            editing_window=windows[editing] if editing is not None else None,
            edit_urls=[_with_query(page_url, edit=i) + "#window-form"
                       for i in range(len(windows))],
        ), status

    def save(schedule: Schedule):
        return availability.save(current_user, event, book, schedule, now=utcnow(),
                                 confirmed=confirmed_bookings(),
                                 reason=reason_given(REMOVED_REASON))

    def saved(result: availability.Plan):
        created, removed = len(result.create) + len(result.reopen), len(result.remove)
        flash(f"Availability saved: {created} reading{'s' if created != 1 else ''} added, "
              f"{removed} removed.", "success")
        return redirect(page_url, 303)

    def ask(exc: ConfirmationNeeded):
        return confirmation_page(exc, event=event, page_url=page_url,
                                 default_reason=REMOVED_REASON)

    actions = dict(done=saved, render=render, above=True, refusals={ConfirmationNeeded: ask})
    if request.method == "POST" and "remove" in request.form:
        index = request.form.get("remove", type=int)
        if index is None or not 0 <= index < len(windows):
            return render(409, "That window no longer exists; the page has been refreshed.")
        return submit(ConfirmForm(), Schedule, save,
                      fields={"windows": windows[:index] + windows[index + 1:]}, **actions)
    if request.method == "POST" and "replace" in request.form and (
        editing is None
        or request.form.get("replace_start") != windows[editing].starts.isoformat()
    ):
        editing = None
        return render(409, "That window has changed since you opened it; check it and try again.")
    others = windows if editing is None else windows[:editing] + windows[editing + 1:]
    return submit(form, Window, lambda window: save(Schedule.parse(windows=[*others, window])),
                  fields=form.local_times(), **actions)
