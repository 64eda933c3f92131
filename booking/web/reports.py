"""Report pages, CSV exports and the printable partner impact page.

The staff routes live here; the partner dashboard (booking.web.partner) serves the same pages
for its acting partner through `report_page`, `report_csv` and `impact_page`.
"""
from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, render_template, request, url_for

from booking.domain import charts
from booking.services.queries import reports
from booking.web.access import roles_required
from ..extensions import db
from booking.web.forms import ReportFilterForm
from booking.domain.models import Partner, Role, utcnow
from .converters import MAX_ID

bp = Blueprint("staff_reports", __name__, url_prefix="/staff/reports")

#: Query parameters a report's links carry over (filters).
FILTER_ARGS = ("starts_on", "ends_on", "event", "partner")
TABLE_TITLES = {"events": "By event", "partners": "By partner", "books": "By book or session",
                "comments": "Readers' comments", "notes": "Volunteers' notes"}


@bp.before_request
@roles_required(Role.STAFF)
def staff_only():
    return None


@bp.get("/")
def index():
    return report_page(None)


@bp.get(f"/<any({', '.join(reports.TABLES)}):table>.csv")
def table_csv(table: str):
    return report_csv(table, None)


@bp.get(f"/partners/<int(max={MAX_ID}):partner_id>/impact")
def impact(partner_id: int):
    partner = db.session.get(Partner, partner_id)
    if partner is None:
        abort(404, "There is no such partner.")
    return impact_page(partner, back_url=url_for("staff_reports.index"))


def read_filter(partner: Partner | None) -> tuple[ReportFilterForm, reports.ReportFilter | None]:
    """The filter form from the query string, and the filter (None when the input is wrong)."""
    form = ReportFilterForm(formdata=request.args or None)
    form.set_choices(*reports.filter_choices(partner.id if partner else None))
    if partner is not None:
        del form.partner  # a partner's pages: `partner` names the partner staff act for
    if not form.validate():
        return form, None
    chosen = form.partner.data if partner is None else str(partner.id)
    return form, reports.ReportFilter(
        starts_on=form.starts_on.data, ends_on=form.ends_on.data,
        event_id=int(form.event.data) if form.event.data else None,
        partner_id=int(chosen) if chosen else None,
    )


def filter_args() -> dict[str, str]:
    return {name: request.args[name] for name in FILTER_ARGS if request.args.get(name)}


def _form_problem(form: ReportFilterForm) -> str:
    return " ".join(f"{form[name].label.text}: {' '.join(errors)}"
                    for name, errors in form.errors.items())


def report_page(partner: Partner | None):
    """The report for staff (every partner, comments, notes) or for one partner."""
    staff = partner is None
    form, report_filter = read_filter(partner)
    args = filter_args()
    dates = {name: args[name] for name in ("starts_on", "ends_on") if name in args}
    context = {
        "form": form, "partner": partner, "staff": staff, "report": None,
        "tables": TABLE_TITLES, "args": args,
        "csv_endpoint": "staff_reports.table_csv" if staff else "partner.report_csv_download",
        "impact_link": lambda group: url_for("staff_reports.impact", partner_id=group.key[1],
                                             **dates),
    }
    if report_filter is None:
        return render_template("reports/report.html", **context), 400
    report = reports.build_report(report_filter, now=utcnow(), with_comments=staff)
    context.update(
        report=report,
        charts=[
            charts.fill_rate_chart("fill-by-book", report.books, "book or session"),
            charts.attendance_chart("attendance-by-event", report.events, "event"),
        ],
    )
    return render_template("reports/report.html", **context)


def report_csv(table: str, partner: Partner | None):
    """One table of the report as a CSV download."""
    form, report_filter = read_filter(partner)
    if report_filter is None:
        abort(400, f"The report filters are not valid. {_form_problem(form)}")
    report = reports.build_report(report_filter, now=utcnow(), with_comments=partner is None)
    header, rows = reports.table_rows(report, table)
    who = "all-partners" if partner is None else partner.slug
    filename = f"report-{who}-{table}-{date.today().isoformat()}.csv"
    return Response(
        reports.to_csv(header, rows), content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def impact_page(partner: Partner, *, back_url: str):
    """A printable page of one partner's figures, for grant and stakeholder reports."""
    form, report_filter = read_filter(partner)
    context = {"form": form, "partner": partner, "report": None, "back_url": back_url}
    if report_filter is None:
        return render_template("reports/impact.html", **context), 400
    now = utcnow()
    report = reports.build_report(report_filter, now=now)
    hosted = reports.hosted_events(partner.id, report_filter)
    context.update(
        report=report, hosted=hosted, generated_on=now.date(),
        narrative=reports.narrative(partner.name, report.totals, hosted, report.books),
        charts=[
            charts.fill_rate_chart("impact-fill", report.books, "book or session"),
            charts.attendance_chart("impact-attendance", report.events, "event"),
        ],
    )
    return render_template("reports/impact.html", **context)
