"""The cluster check on the clinic's own data: a shared lot or room-day raises one cluster alert."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import time_machine
from conftest import make_patient, make_user
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mesoclinic.charting.models import TreatmentSession
from mesoclinic.safety import tasks
from mesoclinic.safety.models import Alert, Cluster, ClusterCall, SafetySettings
from mesoclinic.safety.tests.helpers import report, signed
from mesoclinic.scheduling.models import Appointment, Room


def _in_room(session: TreatmentSession, room: Room, hour: int) -> None:
    start = session.started_at.replace(minute=0, second=0, microsecond=0) + timedelta(minutes=hour)
    appointment = Appointment.objects.create(
        clinic=session.clinic, patient=session.patient, kind="treatment", practitioner=session.performer,
        room=room, starts_at=start, ends_at=start + timedelta(minutes=1), created_by=session.performer)
    TreatmentSession.objects.filter(pk=session.pk).update(appointment=appointment)


def test_infections_of_two_patients_after_one_lot_raise_one_cluster_with_a_call_list(cast: Any) -> None:
    director = make_user("dr.director", cast.clinic, "physician")
    director.medical_director = True
    director.save(update_fields=["medical_director"])
    second, third = make_patient(cast.clinic, "Deniz", "Arslan"), make_patient(cast.clinic, "Cem", "Koç")
    first_session = signed(cast)
    second_session = signed(cast, patient=second)
    signed(cast, patient=third)  # exposed, not ill
    report(cast, first_session, effect="infection")
    assert tasks.run_signals(cast.clinic) == []  # one patient is not a cluster
    report(cast, second_session, effect="infection", infection="confirmed")
    new = tasks.run_signals(cast.clinic)
    assert [(c.kind, c.key) for c in new] == [("lot", "HA-2291")]
    cluster = Cluster.objects.get()
    assert sorted(cluster.exposed_patients) == sorted(
        str(p.public_id) for p in (cast.patient, second, third))
    assert len(cluster.events) == 2
    called = set(ClusterCall.objects.filter(cluster=cluster).values_list("patient", flat=True))
    assert called == {cast.patient.pk, second.pk, third.pk}
    alert = Alert.objects.get(reason="cluster")
    assert set(alert.recipients.all()) == {director, cast.manager}
    # Running again finds the same cluster: no second alert, no second call.
    assert tasks.run_signals(cast.clinic) == []
    assert Alert.objects.filter(reason="cluster").count() == 1
    assert ClusterCall.objects.count() == 3


def test_one_patients_two_infections_are_no_cluster(cast: Any) -> None:
    session = signed(cast)
    report(cast, session, effect="infection")
    report(cast, session, effect="infection", infection="confirmed")
    assert tasks.run_signals(cast.clinic) == []
    assert not Cluster.objects.exists()


def test_a_shared_room_day_is_a_cluster_even_with_different_lots(cast: Any) -> None:
    room = Room.objects.create(clinic=cast.clinic, name="Room 2")
    second = make_patient(cast.clinic, "Deniz", "Arslan")
    first_session = signed(cast, lot_number="HA-1")
    second_session = signed(cast, patient=second, lot_number="HA-2")
    _in_room(first_session, room, 1)
    _in_room(second_session, room, 30)
    report(cast, first_session, effect="infection")
    report(cast, second_session, effect="infection")
    new = tasks.run_signals(cast.clinic)
    local_day = first_session.started_at.astimezone(ZoneInfo(cast.clinic.timezone)).date()
    assert [(c.kind, c.key) for c in new] == [("room_day", f"Room 2/{local_day.isoformat()}")]


def test_an_infection_outside_the_window_is_no_cluster(cast: Any) -> None:
    second = make_patient(cast.clinic, "Deniz", "Arslan")
    start = timezone.now()
    with time_machine.travel(start, tick=True):
        first_session = signed(cast)
        second_session = signed(cast, patient=second)
    report(cast, first_session, effect="infection")
    with time_machine.travel(start + timedelta(days=tasks.WINDOW_DAYS + 2), tick=True):
        report(cast, second_session, effect="infection")
        assert tasks.run_signals(cast.clinic) == []


def test_the_daily_check_runs_once_a_clinic_day_and_a_new_infection_queues_one(cast: Any) -> None:
    from django_tasks_db.models import DBTaskResult

    second = make_patient(cast.clinic, "Deniz", "Arslan")
    first_session, second_session = signed(cast), signed(cast, patient=second)
    report(cast, first_session, effect="infection")
    report(cast, second_session, effect="infection")
    # Each new infection queues the clinic's check (on commit: the test's transaction never commits,
    # so the daily run is what finds it here).
    assert tasks.daily_signals() >= 1
    assert Cluster.objects.count() == 1
    assert SafetySettings.objects.get(clinic=cast.clinic).signals_checked_on is not None
    assert tasks.daily_signals() == 0  # the same day again: nothing to do
    assert DBTaskResult.objects.count() == 0


def test_the_check_reads_a_clinic_in_a_bounded_number_of_queries(cast: Any) -> None:
    for i in range(3):
        report(cast, signed(cast, patient=make_patient(cast.clinic, f"P{i}", "Test")), effect="infection")
    with CaptureQueriesContext(connection) as queries:
        tasks.signals_input(cast.clinic, timezone.now())
    assert len(queries) <= 4
