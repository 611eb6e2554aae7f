"""Many people booking at once: the database lets exactly one booking win per contested slot."""

from __future__ import annotations

import random
import threading
from collections import Counter
from datetime import timedelta

import pytest
from conftest import make_patient
from django.db import connection, connections

from mesoclinic.scheduling import actions
from mesoclinic.scheduling.actions import BookingRefused, Slot
from mesoclinic.scheduling.models import Appointment
from mesoclinic.scheduling.tests.helpers import ACTOR, furnish, local, next_monday

CONNECTIONS = 21
SLOTS = 10  # each contested by every connection: 210 attempts


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_bookings_of_the_same_slots_leave_exactly_one_per_slot(cast):
    if connection.vendor != "postgresql":
        pytest.skip("parallel connections: PostgreSQL")
    clinic = furnish(cast)
    day = next_monday()
    starts = [local(cast, day, 8) + timedelta(minutes=20 * i) for i in range(SLOTS)]
    patients = [make_patient(cast.clinic, f"P{i}", "Test")
                for i in range(CONNECTIONS)]
    barrier = threading.Barrier(CONNECTIONS)
    wins: Counter[int] = Counter()
    refusals: Counter[str] = Counter()
    errors: list[BaseException] = []
    lock = threading.Lock()

    def attempt(n: int) -> None:
        order = list(range(SLOTS))
        random.Random(n).shuffle(order)
        try:
            barrier.wait(timeout=30)
            for i in order:
                # Half contend for the practitioner, half for the room with the other practitioner.
                who = cast.physician if n % 2 == 0 else cast.nurse
                slot = Slot(starts_at=starts[i], ends_at=starts[i] + timedelta(minutes=20),
                            practitioner=who, room=clinic["rooms"][0])
                try:
                    actions.book(clinic=cast.clinic, patient=patients[n], kind="consultation",
                                 slot=slot, by=cast.receptionist, actor=ACTOR)
                except BookingRefused as exc:
                    with lock:
                        refusals[exc.field] += 1
                else:
                    with lock:
                        wins[i] += 1
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sum(wins.values()) + sum(refusals.values()) == CONNECTIONS * SLOTS
    assert wins == Counter(dict.fromkeys(range(SLOTS), 1))
    assert set(refusals) <= {"practitioner", "room", "starts_at"}  # starts_at: a deadlock lost
    booked = Appointment.objects.filter(status="booked")
    assert booked.count() == SLOTS
    assert sorted(booked.values_list("starts_at", flat=True)) == starts
