"""Dates and times as people read them: in the active (clinic's) zone, labelled with it, in the
language's own format. Never raw ISO and never unlabelled UTC.

    {% load clinic_time %}
    {{ screening.created_at|when }}   → 2 Dec 2026, 2:30 p.m. GMT+3 (in a <time> element)
    {{ patient.birth_date|day }}      → 2 Apr 1990
"""

from __future__ import annotations

from datetime import date, datetime

from django import template
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()


def zone_label(moment: datetime) -> str:
    """The zone's abbreviation ("CET"), or its offset ("GMT+3") where the zone has none ("+03")."""
    abbreviation = moment.strftime("%Z")
    if abbreviation and abbreviation[0] not in "+-":
        return abbreviation
    offset = moment.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"GMT{sign}{hours}" + (f":{rest:02d}" if rest else "")


def _zone_name() -> str:
    return str(timezone.get_current_timezone())


@register.filter(is_safe=True)
def when(value: datetime | None) -> SafeString | str:
    """A moment in the active zone, labelled with the zone; the full zone name on hover."""
    if not isinstance(value, datetime):
        return ""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return format_html('<time datetime="{}" title="{}">{} {}</time>', local.isoformat(),
                       _zone_name(), date_format(local, "DATETIME_FORMAT"), zone_label(local))


@register.filter
def day(value: date | datetime | None) -> str:
    """A calendar day in the language's format (a moment: its day in the active zone)."""
    if isinstance(value, datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
    if not isinstance(value, date):
        return ""
    return date_format(value, "DATE_FORMAT")


@register.simple_tag
def zone_name() -> str:
    """The active zone with its current label, e.g. "Europe/Istanbul (GMT+3)"."""
    return f"{_zone_name()} ({zone_label(timezone.localtime())})"
