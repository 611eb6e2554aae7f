"""Dates and times render in the clinic's zone, labelled, in the language's format."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime

import pytest
from django.template import Context, Template
from django.utils import timezone, translation

from mesoclinic.kernel.templatetags.clinic_time import zone_label

MOMENT = datetime(2026, 12, 2, 11, 30, tzinfo=UTC)


def render(source: str, zone: str, language: str = "en-gb", **context: object) -> str:
    with timezone.override(zoneinfo.ZoneInfo(zone)), translation.override(language):
        return Template("{% load clinic_time %}" + source).render(Context(context))


@pytest.mark.parametrize(
    ("zone", "language", "shown"),
    [
        ("Europe/Istanbul", "en-gb", "2 Dec 2026, 2:30 p.m. GMT+3"),
        ("Europe/Berlin", "de", "2. Dezember 2026 12:30 CET"),
        ("Europe/Istanbul", "tr", "02 Aralık 2026 14:30 GMT+3"),
        ("UTC", "en-gb", "2 Dec 2026, 11:30 a.m. UTC"),
        ("Asia/Kolkata", "en-gb", "2 Dec 2026, 5 p.m. IST"),
    ],
)
def test_a_moment_shows_in_the_clinics_zone_with_its_label(zone, language, shown) -> None:
    html = render("{{ at|when }}", zone, language, at=MOMENT)
    assert f">{shown}</time>" in html
    assert f'title="{zone}"' in html
    assert "datetime=\"" in html


def test_a_day_uses_the_languages_format() -> None:
    assert render("{{ d|day }}", "UTC", d=date(1990, 4, 2)) == "2 Apr 1990"
    assert render("{{ d|day }}", "UTC", "de", d=date(1990, 4, 2)) == "2. April 1990"


def test_a_moments_day_is_the_clinics_day() -> None:
    late = datetime(2026, 12, 2, 22, 30, tzinfo=UTC)  # already the 3rd in Istanbul
    assert render("{{ at|day }}", "Europe/Istanbul", at=late) == "3 Dec 2026"


def test_nothing_renders_as_empty_so_default_applies() -> None:
    assert render('{{ at|when|default:"never" }}', "UTC", at=None) == "never"
    assert render('{{ d|day|default:"not yet" }}', "UTC", d=None) == "not yet"


def test_zone_label_for_half_hour_offsets() -> None:
    moment = datetime(2026, 1, 1, tzinfo=zoneinfo.ZoneInfo("Asia/Kathmandu"))
    assert zone_label(moment) == "GMT+5:45"
