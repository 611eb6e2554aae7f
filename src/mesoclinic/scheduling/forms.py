"""Booking forms. Dates and times are the clinic's local wall-clock time."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, time
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mesoclinic.accounts.models import Clinic, User
from mesoclinic.scheduling import series
from mesoclinic.scheduling.models import Device, DeviceKind, Kind, Room, Weekday


def local_moment(clinic: Clinic, day: date, at: time) -> datetime:
    """A local date and time as an aware datetime; a time the clock skips does not exist."""
    tz = zoneinfo.ZoneInfo(clinic.timezone)
    moment = datetime.combine(day, at, tz)
    if moment.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != datetime.combine(day, at):
        raise forms.ValidationError(_("%(time)s does not exist on %(day)s (the clocks change).")
                                    % {"time": at.strftime("%H:%M"), "day": day.isoformat()})
    return moment


# Fresh widgets per field: Django deep-copies them, so one shared instance is safe.
TIME = forms.TimeInput(attrs={"type": "time", "step": 300}, format="%H:%M")
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class _ClinicForm(forms.Form):
    def __init__(self, *args: Any, clinic: Clinic, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clinic = clinic
        staff = series.practitioners(clinic)
        if "practitioner" in self.fields:
            field = self.fields["practitioner"]
            assert isinstance(field, forms.ModelChoiceField)  # noqa: S101
            field.queryset = User.objects.filter(pk__in=[u.pk for u in staff]).order_by(
                "last_name", "first_name")
            field.to_field_name = "public_id"
        if "room" in self.fields:
            room = self.fields["room"]
            assert isinstance(room, forms.ModelChoiceField)  # noqa: S101
            room.queryset = Room.objects.filter(clinic=clinic, active=True)
            room.to_field_name = "public_id"
        if "device" in self.fields:
            device = self.fields["device"]
            assert isinstance(device, forms.ModelChoiceField)  # noqa: S101
            device.queryset = Device.objects.filter(clinic=clinic, active=True)
            device.to_field_name = "public_id"

    def moment(self, day_field: str, time_field: str) -> datetime | None:
        day, at = self.cleaned_data.get(day_field), self.cleaned_data.get(time_field)
        if day is None or at is None:
            return None
        try:
            return local_moment(self.clinic, day, at)
        except forms.ValidationError as exc:
            self.add_error(time_field, exc)
            return None


class BookForm(_ClinicForm):
    kind = forms.ChoiceField(label=gettext_lazy("Type"),
                             choices=[c for c in Kind.choices if c[0] != Kind.TREATMENT])
    practitioner = forms.ModelChoiceField(label=gettext_lazy("Practitioner"), queryset=User.objects.none())
    room = forms.ModelChoiceField(label=gettext_lazy("Room"), queryset=Room.objects.none())
    day = forms.DateField(label=gettext_lazy("Date"), widget=DATE)
    at = forms.TimeField(label=gettext_lazy("Time"), widget=TIME)
    minutes = forms.IntegerField(label=gettext_lazy("Minutes"), min_value=5, max_value=480, initial=30)
    note = forms.CharField(label=gettext_lazy("Note for the front desk"), max_length=300, required=False,
                           help_text=gettext_lazy("Logistics only; clinical notes belong in the record."))


class MoveForm(_ClinicForm):
    day = forms.DateField(label=gettext_lazy("Date"), widget=DATE)
    at = forms.TimeField(label=gettext_lazy("Time"), widget=TIME)
    practitioner = forms.ModelChoiceField(label=gettext_lazy("Practitioner"), queryset=User.objects.none())
    room = forms.ModelChoiceField(label=gettext_lazy("Room"), queryset=Room.objects.none(), required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class CancelForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=300)
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class SeriesForm(_ClinicForm):
    """What the planner needs besides the plan: when the patient can come, and whom they prefer."""

    not_before = forms.DateField(label=gettext_lazy("First session not before"),
                                 widget=DATE)
    weekdays = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Days the patient can come"), choices=Weekday.choices, coerce=int,
        widget=forms.CheckboxSelectMultiple)
    available_from = forms.TimeField(label=gettext_lazy("From"), widget=TIME)
    available_until = forms.TimeField(label=gettext_lazy("Until"), widget=TIME)
    practitioner = forms.ModelChoiceField(label=gettext_lazy("Preferred practitioner"),
                                          queryset=User.objects.none(), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("available_from"), data.get("available_until")
        if start is not None and end is not None and end <= start and end != time(0):
            self.add_error("available_until", _("The end must be after the start."))
        return data


class RoomForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Room name"), max_length=100)


class DeviceForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Device name"), max_length=100)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=DeviceKind.choices)


class HoursForm(_ClinicForm):
    practitioner = forms.ModelChoiceField(label=gettext_lazy("Practitioner"), queryset=User.objects.none())
    weekday = forms.TypedChoiceField(label=gettext_lazy("Weekday"), choices=Weekday.choices, coerce=int)
    start = forms.TimeField(label=gettext_lazy("From"), required=False,
                            widget=TIME)
    end = forms.TimeField(label=gettext_lazy("Until"), required=False,
                          widget=TIME)
    break_start = forms.TimeField(label=gettext_lazy("Break from"), required=False,
                                  widget=TIME)
    break_end = forms.TimeField(label=gettext_lazy("Break until"), required=False,
                                widget=TIME)
    help_text = gettext_lazy("Leave the hours empty for a day off.")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (data.get("start") is None) != (data.get("end") is None):
            self.add_error("end", _("Give both the start and the end, or neither for a day off."))
        if (data.get("break_start") is None) != (data.get("break_end") is None):
            self.add_error("break_end", _("Give both ends of the break, or neither."))
        return data


class LeaveForm(_ClinicForm):
    practitioner = forms.ModelChoiceField(label=gettext_lazy("Practitioner"), queryset=User.objects.none())
    first_day = forms.DateField(label=gettext_lazy("First day"), widget=DATE)
    last_day = forms.DateField(label=gettext_lazy("Last day"), widget=DATE)
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=200, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, last = data.get("first_day"), data.get("last_day")
        if first is not None and last is not None and last < first:
            self.add_error("last_day", _("The last day cannot be before the first."))
        return data
