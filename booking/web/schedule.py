"""The availability page, shared by coordinators (/partner) and volunteers (/me)."""
from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import flash, redirect, render_template, request
from flask_login import current_user

from .. import availability
from ..availability import ConfirmationNeeded, WindowSpec
from ..errors import DomainError, ValidationFailed
from ..forms import ConfirmForm, WindowForm
from ..models import Event, HumanBook, Role, utcnow


def event_days(event: Event) -> list[tuple[str, str]]:
    """The local dates an event spans, as select choices."""
    zone = ZoneInfo(event.timezone)
    day, last = event.starts_at.astimezone(zone).date(), event.ends_at.astimezone(zone).date()
    days = []
    while day <= last:
        days.append((day.isoformat(), f"{day:%A} {day.day} {day:%B %Y}"))
        day += timedelta(days=1)
    return days


def availability_page(book: HumanBook, event: Event, *, page_url: str, back_url: str):
    """Show a book's windows at an event; add or remove one, confirming any lost booking."""
    windows = [WindowSpec.of(w) for w in availability.windows_of(event, book)]
    form = WindowForm()
    form.day.choices = event_days(event)
    status, problem = 200, None
    if request.method == "POST":
        specs = None
        if "remove" in request.form:
            if not ConfirmForm().validate_on_submit():
                return redirect(page_url, 303)
            index = request.form.get("remove", type=int)
            if index is None or not 0 <= index < len(windows):
                problem, status = "That window no longer exists; the page has been refreshed.", 409
            else:
                specs = windows[:index] + windows[index + 1:]
        elif form.validate_on_submit():
            span = form.local_span()
            if span is not None:
                specs = windows + [WindowSpec(
                    span[0], span[1], form.reading_minutes.data, form.break_minutes.data,
                    form.readers.data, form.rest_after.data, form.rest_minutes.data,
                )]
        if specs is not None:
            try:
                result = availability.save(
                    event, book, specs, now=utcnow(),
                    confirmed=request.form.get("confirmed") == "yes",
                    reason=(request.form.get("reason") or "").strip()[:300]
                    or "The reading was removed from the schedule.",
                )
            except ConfirmationNeeded as exc:
                return render_template(
                    "schedule/confirm.html", book=book, event=event, plan=exc.plan,
                    message=exc.message, page_url=page_url, show_names=current_user.role == Role.STAFF,
                    fields={k: v for k, v in request.form.items() if k not in ("csrf_token", "confirmed")},
                ), 409
            except ValidationFailed as exc:
                problem, status = " ".join(exc.errors.get("windows", [exc.message])), 422
            except DomainError as exc:
                problem, status = exc.message, exc.status
            else:
                created = len(result.create) + len(result.reopen)
                removed = len(result.remove)
                flash(f"Availability saved: {created} reading{'s' if created != 1 else ''} added, "
                      f"{removed} removed.", "success")
                return redirect(page_url, 303)
        elif status == 200:
            status = 422
    return render_template(
        "schedule/availability.html", book=book, event=event, windows=windows, form=form,
        slots=availability.book_slots(event, book), problem=problem, page_url=page_url,
        back_url=back_url, remove_form=ConfirmForm(),
    ), status
