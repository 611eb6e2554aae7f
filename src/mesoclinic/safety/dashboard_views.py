"""The safety dashboard page: open alerts and clusters, then side-effect rates over a period.

Physicians and managers read it (Perm.VIEW_SAFETY_DASHBOARD). It names no patient and shows no
event's details: counts and rates only, by ingredient, lot, technique, practitioner, room, area
and month. The period is the clinic's local dates `since` to `until`, or the last `months` (3, 6
or 12; 12 by default). A period that cannot be read answers 400 with the form and its error.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import formats, timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET

from mesoclinic.accounts.permissions import Perm
from mesoclinic.audit.models import AuditEvent
from mesoclinic.kernel.http import ClinicRequest
from mesoclinic.kernel.views import ClinicAccess, clinic_view
from mesoclinic.lib import plots
from mesoclinic.safety import dashboard as board
from mesoclinic.safety.dashboard import MAX_SPAN_YEARS, MonthRate, Rate, Rates

PRESETS = (3, 6, 12)
DEFAULT_MONTHS = 12
# A chart shows the highest rates; the table under it lists every row.
CHART_ROWS = 20
ISO_DATE = ["%Y-%m-%d"]
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class PeriodForm(forms.Form):
    since = forms.DateField(label=gettext_lazy("From"), required=False, input_formats=ISO_DATE,
                            widget=DATE,
                            error_messages={"invalid": gettext_lazy("Enter a date as YYYY-MM-DD.")})
    until = forms.DateField(label=gettext_lazy("To"), required=False, input_formats=ISO_DATE,
                            widget=DATE,
                            error_messages={"invalid": gettext_lazy("Enter a date as YYYY-MM-DD.")})
    months = forms.TypedChoiceField(
        label=gettext_lazy("Last months"), required=False, coerce=int, empty_value=None,
        choices=[(str(n), str(n)) for n in PRESETS], widget=forms.HiddenInput,
        error_messages={"invalid_choice": gettext_lazy("Choose the last 3, 6 or 12 months.")})

    def __init__(self, *args: Any, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        since, until = data.get("since"), data.get("until")
        if since is None and until is None:
            since, until = board.last_months(self.today, data.get("months") or DEFAULT_MONTHS)
        else:  # dates given: the missing end is today, the missing start twelve months before
            until = until or self.today
            since = since or board.last_months(until, DEFAULT_MONTHS)[0]
        if since > until:
            self.add_error("until", _("The end date is before the start date."))
        elif board.span_too_long(since, until):
            self.add_error(None, ngettext("Choose a period of at most %(n)d year.",
                                          "Choose a period of at most %(n)d years.",
                                          MAX_SPAN_YEARS) % {"n": MAX_SPAN_YEARS})
        data["period"] = (since, until)
        return data


def _number(value: float) -> str:
    return formats.number_format(value, decimal_pos=2, use_l10n=True)


def _counts_text(events: int, sessions: int) -> str:
    return _("%(events)s / %(sessions)s") % {
        "events": ngettext("%(n)s event", "%(n)s events", events) % {"n": formats.number_format(events)},
        "sessions": ngettext("%(n)s session", "%(n)s sessions", sessions)
        % {"n": formats.number_format(sessions)}}


def _rate_text(rate: float | None) -> str:
    return "–" if rate is None else _("%(rate)s per 100") % {"rate": _number(rate)}


def _row_text(row: Rate) -> str:
    return f"{_rate_text(row.per_100)} · {_counts_text(row.events, row.sessions)}"


def _svg(markup: str) -> SafeString:
    # plots escapes every label and text it draws (labels are user data such as lot numbers).
    return mark_safe(markup)  # noqa: S308


TITLES = {
    "ingredient": gettext_lazy("By solution ingredient"),
    "lot": gettext_lazy("By lot"),
    "technique": gettext_lazy("By technique"),
    "practitioner": gettext_lazy("By practitioner"),
    "room": gettext_lazy("By room"),
    "area": gettext_lazy("By treated area"),
}
HEADINGS = {
    "ingredient": gettext_lazy("Ingredient"),
    "lot": gettext_lazy("Lot"),
    "technique": gettext_lazy("Technique"),
    "practitioner": gettext_lazy("Practitioner"),
    "room": gettext_lazy("Room"),
    "area": gettext_lazy("Area"),
}


def _section(name: str, rows: list[Rate], overall: Rate, period: str) -> dict[str, Any]:
    title = str(TITLES[name])
    shown = rows[:CHART_ROWS]
    if len(rows) > len(shown):
        desc = _("Events per 100 sessions, %(period)s: the %(n)d highest of %(total)d; every row is in "
                 "the table.") % {"period": period, "n": len(shown), "total": len(rows)}
    else:
        desc = _("Events per 100 sessions, %(period)s.") % {"period": period}
    reference = overall.per_100 if overall.sessions else None
    svg = plots.bar_chart(
        [plots.Bar(label=r.label, value=r.per_100, text=_row_text(r)) for r in shown],
        title=title, desc=desc, id_prefix=f"plot-{name}", reference=reference,
        reference_text=_("all sessions: %(rate)s") % {"rate": _number(overall.per_100)},
        empty_text=_("No sessions in this period."))
    return {"name": name, "title": title, "heading": HEADINGS[name], "rows": rows, "svg": _svg(svg),
            "truncated": len(rows) > len(shown), "shown": len(shown)}


def _month_label(month: date) -> str:
    return formats.date_format(month, "M Y")


def _monthly(months: list[MonthRate], period: str) -> SafeString:
    columns = [plots.Column(label=_month_label(m.month), value=m.per_100,
                            text=(f"{_rate_text(m.per_100)} · {_counts_text(m.events, m.sessions)}"
                                  if m.sessions else _("no sessions")),
                            tick=formats.date_format(m.month, "M"),
                            subtick=str(m.month.year) if i == 0 or m.month.month == 1 else "")
               for i, m in enumerate(months)]
    return _svg(plots.column_chart(
        columns, title=_("Events per 100 sessions, month by month"),
        desc=_("Events linked to the sessions of each month, per 100 sessions, %(period)s; a dash "
               "marks a month without sessions.") % {"period": period},
        id_prefix="plot-months", axis_text=_("events per 100 sessions"), number=_number))


def _context(result: Rates) -> dict[str, Any]:
    period = _("%(since)s to %(until)s") % {"since": formats.date_format(result.since, "DATE_FORMAT"),
                                            "until": formats.date_format(result.until, "DATE_FORMAT")}
    return {
        "rates": result, "period_text": period,
        "overall_rate": _rate_text(result.overall.per_100 if result.overall.sessions else None),
        "months": [{"month": m, "label": _month_label(m.month),
                    "rate": "–" if m.per_100 is None else _number(m.per_100)} for m in result.months],
        "monthly_svg": _monthly(result.months, period),
        "sections": [_section(name, result.by[name], result.overall, period)
                     for name in board.DIMENSIONS],
    }


def _presets(active: int | None) -> list[dict[str, Any]]:
    return [{"months": n, "active": n == active,
             "label": ngettext("Last %(n)d month", "Last %(n)d months", n) % {"n": n}} for n in PRESETS]


@require_GET
@clinic_view(Perm.VIEW_SAFETY_DASHBOARD, object_type="adverse_event")
def dashboard(request: ClinicRequest, access: ClinicAccess) -> HttpResponse:
    """Open alerts and clusters, then the period's side-effect rates as charts and tables."""
    today = timezone.localdate()  # the clinic's day: clinic_view activated its zone
    form = PeriodForm(request.GET, today=today)
    if not form.is_valid():
        # Nothing is read or shown for a period that cannot be read: the form and its error.
        return render(request, "safety/dashboard.html",
                      {"form": form, "presets": _presets(None), "today": today}, status=400)
    since, until = form.cleaned_data["period"]
    explicit = form.cleaned_data["since"] is not None or form.cleaned_data["until"] is not None
    preset = None if explicit else (form.cleaned_data["months"] or DEFAULT_MONTHS)
    result = board.rates(access.clinic, since, until)
    alerts, alert_total = board.open_alerts(access.clinic)
    clusters, cluster_total = board.open_clusters(access.clinic)
    access.audit(AuditEvent.Action.VIEW, object_type="adverse_event",
                 detail=f"safety dashboard {since.isoformat()} to {until.isoformat()}: "
                        f"{result.overall.sessions} sessions, {result.overall.events} events, "
                        f"{alert_total} open alerts, {cluster_total} open clusters")
    if not explicit:  # a preset: the form shows the dates it stands for
        form = PeriodForm(initial={"since": since, "until": until}, today=today)
    return render(request, "safety/dashboard.html", {
        "form": form, "presets": _presets(preset),
        "today": today, "alerts": alerts, "alert_total": alert_total, "clusters": clusters,
        "cluster_total": cluster_total, **_context(result)})

