"""The infection-signals engine: lot and room-day clusters, the window on the session's local date,
what never counts, who is exposed, the order of everything, and properties over random inputs
(the same answer as the rule written out naively, whatever the order of the input)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mesoclinic.safety.signals import (
    COUNTING_KINDS,
    DEFAULT_WINDOW_DAYS,
    KINDS,
    Cluster,
    Event,
    Exposure,
    SignalsInput,
    detect,
)

ISTANBUL = ZoneInfo("Europe/Istanbul")


def exposure(session: str, patient: str, at: str = "2027-01-11T10:00:00+03:00", room: str | None = "room-1",
             lots: tuple[str, ...] = ("HA-2291",)) -> Exposure:
    return Exposure(session, patient, datetime.fromisoformat(at), room, lots)


def event(event_id: str, patient: str, *sessions: str, onset: str = "2027-02-01",
          kind: str = "infection") -> Event:
    return Event(event_id, patient, kind, date.fromisoformat(onset), sessions)


def signals(exposures: list[Exposure], events: list[Event], window_days: int = DEFAULT_WINDOW_DAYS,
            zone: ZoneInfo = ISTANBUL) -> tuple[Cluster, ...]:
    return detect(SignalsInput(zone, window_days, tuple(exposures), tuple(events)))


# --- lot clusters ------------------------------------------------------------------------------

def test_a_lot_shared_by_two_patients_with_infections_is_a_cluster():
    exposures = [exposure("s1", "p1", lots=("HA-2291", "LID-17")),
                 exposure("s2", "p2", at="2027-01-20T10:00:00+03:00", room="room-2"),
                 exposure("s3", "p9", at="2027-03-01T10:00:00+03:00", room="room-3")]
    events = [event("e1", "p1", "s1"), event("e4", "p2", "s2", kind="suspected_infection")]
    assert signals(exposures, events) == (Cluster("lot", "HA-2291", ("e1", "e4"), ("p1", "p2", "p9")),)


def test_lots_not_shared_by_the_infected_sessions_form_no_cluster():
    exposures = [exposure("s1", "p1", lots=("HA-1",)), exposure("s2", "p2", room="room-2", lots=("HA-2",))]
    assert signals(exposures, [event("e1", "p1", "s1"), event("e2", "p2", "s2")]) == ()


def test_two_events_of_one_patient_form_no_cluster():
    exposures = [exposure("s1", "p1"), exposure("s2", "p1", at="2027-01-18T10:00:00+03:00"),
                 exposure("s3", "p2")]
    events = [event("e1", "p1", "s1"), event("e2", "p1", "s2", kind="suspected_infection")]
    assert signals(exposures, events) == ()


def test_the_patients_counted_are_the_events_own_patients():
    # Both events name p1's session: two different patients' events, so a cluster, whose
    # exposed patients are the sessions' patients.
    exposures = [exposure("s1", "p1", room=None), exposure("s2", "p3", room=None)]
    events = [event("e1", "p1", "s1"), event("e2", "p2", "s1")]
    assert signals(exposures, events) == (Cluster("lot", "HA-2291", ("e1", "e2"), ("p1", "p3")),)


def test_other_events_never_count():
    exposures = [exposure("s1", "p1"), exposure("s2", "p2"), exposure("s3", "p3")]
    assert signals(exposures, [event("e1", "p1", "s1", kind="other"), event("e2", "p2", "s2")]) == ()
    assert signals(exposures, [event("e1", "p1", "s1", kind="other"),
                               event("e2", "p2", "s2", kind="other")]) == ()
    found = signals(exposures, [event("e1", "p1", "s1", kind="other"), event("e2", "p2", "s2"),
                                event("e3", "p3", "s3", kind="suspected_infection")])
    assert [(c.kind, c.events) for c in found] == [("lot", ("e2", "e3")), ("room_day", ("e2", "e3"))]


def test_lot_exposed_patients_are_everyone_who_had_the_lot_at_any_time():
    exposures = [exposure("s1", "p1", room=None), exposure("s2", "p2", room=None),
                 exposure("s3", "p7", at="2026-06-01T10:00:00+03:00", room="room-9", lots=("X", "HA-2291")),
                 exposure("s4", "p8", at="2028-06-01T10:00:00+03:00", room=None),
                 exposure("s5", "p6", lots=("OTHER-LOT",), room=None)]
    found = signals(exposures, [event("e1", "p1", "s1"), event("e2", "p2", "s2")])
    assert found == (Cluster("lot", "HA-2291", ("e1", "e2"), ("p1", "p2", "p7", "p8")),)


# --- room-day clusters ---------------------------------------------------------------------------

def test_a_room_and_local_day_shared_by_two_patients_with_infections_is_a_cluster():
    exposures = [exposure("s1", "p1", lots=("A",)), exposure("s2", "p2", at="2027-01-11T17:45:00+03:00",
                                                             lots=("B",)),
                 exposure("s3", "p5", at="2027-01-11T12:00:00+03:00", lots=()),
                 exposure("s4", "p6", at="2027-01-10T12:00:00+03:00", lots=()),
                 exposure("s5", "p7", room="room-2", lots=())]
    events = [event("e1", "p1", "s1"), event("e2", "p2", "s2")]
    assert signals(exposures, events) == (
        Cluster("room_day", "room-1/2027-01-11", ("e1", "e2"), ("p1", "p2", "p5")),)


def test_the_day_is_the_local_date_in_the_clinics_time_zone():
    # 23:30 UTC on the 11th is 02:30 on the 12th in Istanbul: the same day as the 10:00 session.
    late = exposure("s1", "p1", at="2027-01-11T23:30:00Z", lots=("A",))
    morning = exposure("s2", "p2", at="2027-01-12T10:00:00+03:00", lots=("B",))
    events = [event("e1", "p1", "s1"), event("e2", "p2", "s2")]
    assert signals([late, morning], events) == (
        Cluster("room_day", "room-1/2027-01-12", ("e1", "e2"), ("p1", "p2")),)
    # In UTC they are two days apart in date: no cluster.
    assert signals([late, morning], events, zone=ZoneInfo("UTC")) == ()
    # 20:30 UTC on the 11th is 23:30 on the 11th in Istanbul: not the 12th.
    evening = exposure("s1", "p1", at="2027-01-11T20:30:00Z", lots=("A",))
    assert signals([evening, morning], events) == ()


def test_a_session_whose_room_is_not_known_forms_no_room_day_cluster():
    exposures = [exposure("s1", "p1", room=None, lots=("A",)), exposure("s2", "p2", room=None, lots=("B",)),
                 exposure("s3", "p3", room="room-1", lots=("C",))]
    events = [event("e1", "p1", "s1"), event("e2", "p2", "s2"), event("e3", "p3", "s3")]
    assert signals(exposures, events) == ()


def test_a_room_with_a_slash_keeps_it_in_the_key():
    exposures = [exposure("s1", "p1", room="clinic-2/room-1", lots=()),
                 exposure("s2", "p2", room="clinic-2/room-1", lots=())]
    found = signals(exposures, [event("e1", "p1", "s1"), event("e2", "p2", "s2")])
    assert [c.key for c in found] == ["clinic-2/room-1/2027-01-11"]


# --- the window ----------------------------------------------------------------------------------

def pair(onset: str, window_days: int = DEFAULT_WINDOW_DAYS,
         at: str = "2027-01-11T10:00:00+03:00") -> tuple[Cluster, ...]:
    """p1's session at `at` with an infection from `onset`; p2's on the same day, infected at once."""
    exposures = [exposure("s1", "p1", at=at, room=None), exposure("s2", "p2", room=None)]
    events = [event("e1", "p1", "s1", onset=onset), event("e2", "p2", "s2", onset="2027-01-11")]
    return signals(exposures, events, window_days)


def test_an_onset_window_days_after_the_session_counts_and_one_day_later_does_not():
    # 2027-01-11 + 84 days = 2027-04-05.
    assert [c.events for c in pair("2027-04-05")] == [("e1", "e2")]
    assert pair("2027-04-06") == ()
    assert [c.events for c in pair("2027-01-18", window_days=7)] == [("e1", "e2")]
    assert pair("2027-01-19", window_days=7) == ()
    assert [c.events for c in pair("2027-01-12", window_days=1)] == [("e1", "e2")]


def test_an_onset_on_the_session_day_counts_and_the_day_before_does_not():
    assert [c.events for c in pair("2027-01-11")] == [("e1", "e2")]
    assert pair("2027-01-10") == ()


def test_the_window_starts_on_the_local_date_not_the_utc_date():
    # 22:00 UTC on the 11th is the 12th in Istanbul: an onset on the 11th is before the session.
    assert pair("2027-01-11", at="2027-01-11T22:00:00+00:00") == ()
    assert [c.events for c in pair("2027-01-12", at="2027-01-11T22:00:00+00:00")] == [("e1", "e2")]
    # 84 days from the local 12th is 2027-04-06.
    assert [c.events for c in pair("2027-04-06", at="2027-01-11T22:00:00+00:00")] == [("e1", "e2")]
    assert pair("2027-04-07", at="2027-01-11T22:00:00+00:00") == ()


def test_an_event_counts_only_for_the_sessions_within_its_window():
    # e1 names two sessions; only the recent one (lot B) is in its window.
    exposures = [exposure("s1", "p1", at="2026-06-01T10:00:00+03:00", room=None, lots=("A",)),
                 exposure("s2", "p1", room=None, lots=("B",)),
                 exposure("s3", "p2", room=None, lots=("A", "B"))]
    found = signals(exposures, [event("e1", "p1", "s1", "s2"), event("e2", "p2", "s3")])
    assert found == (Cluster("lot", "B", ("e1", "e2"), ("p1", "p2")),)


# --- order and duplicates ------------------------------------------------------------------------

def test_lists_are_sorted_as_plain_strings_without_duplicates_and_clusters_by_kind_then_key():
    exposures = [exposure("s1", "p10", lots=("b-lot", "B-LOT", "b-lot")),
                 exposure("s2", "p9", lots=("B-LOT", "b-lot")),
                 exposure("s3", "p2", room="room-2", lots=("b-lot",)),
                 exposure("s4", "p2", room="room-2", lots=()),
                 exposure("s5", "p11", room="room-2", lots=("B-LOT",)),
                 exposure("s6", "p11", room="room-1", at="2027-01-11T12:00:00+03:00", lots=())]
    events = [event("e9", "p9", "s2", "s2"), event("e10", "p10", "s1"),
              event("e100", "p2", "s3", "s4", kind="suspected_infection"), event("e2", "p11", "s5")]
    assert signals(exposures, events) == (
        Cluster("lot", "B-LOT", ("e10", "e2", "e9"), ("p10", "p11", "p9")),
        Cluster("lot", "b-lot", ("e10", "e100", "e9"), ("p10", "p2", "p9")),
        Cluster("room_day", "room-1/2027-01-11", ("e10", "e9"), ("p10", "p11", "p9")),
        Cluster("room_day", "room-2/2027-01-11", ("e100", "e2"), ("p11", "p2")),
    )


def test_no_input_and_no_events_find_nothing():
    assert signals([], []) == ()
    assert signals([exposure("s1", "p1"), exposure("s2", "p2")], []) == ()
    assert signals([exposure("s1", "p1"), exposure("s2", "p2")], [event("e1", "p1")]) == ()


# --- properties ----------------------------------------------------------------------------------

ZONES = ("Europe/Istanbul", "UTC", "America/New_York", "Pacific/Kiritimati", "Pacific/Pago_Pago")
BASE = datetime(2027, 3, 27, 12, tzinfo=UTC)  # near Europe's change to summer time
OFFSETS = [timezone(timedelta(hours=h)) for h in (-11, -5, 0, 3, 5.5, 14)]
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def inputs(draw: st.DrawFn) -> SignalsInput:
    sessions = draw(st.integers(0, 12))
    exposures = tuple(
        Exposure(f"s{n}", draw(st.sampled_from(["p1", "p2", "p3", "p10"])),
                 (BASE + timedelta(minutes=draw(st.integers(-3 * 1440, 3 * 1440)))).astimezone(
                     draw(st.sampled_from(OFFSETS))),
                 draw(st.sampled_from([None, "room-1", "room-2", "a/b"])),
                 tuple(draw(st.lists(st.sampled_from(["L1", "L2", "l1", "L10"]), max_size=3))))
        for n in range(sessions))
    events = tuple(
        Event(f"e{n}", draw(st.sampled_from(["p1", "p2", "p3", "p4"])), draw(st.sampled_from(KINDS)),
              BASE.date() + timedelta(days=draw(st.integers(-4, 12))),
              tuple(draw(st.lists(st.sampled_from([e.session for e in exposures]), max_size=3)))
              if exposures else ())
        for n in range(draw(st.integers(0, 8))))
    return SignalsInput(ZoneInfo(draw(st.sampled_from(ZONES))), draw(st.integers(1, 10)), exposures, events)


def naive(inp: SignalsInput) -> tuple[Cluster, ...]:
    """The rule as the contract words it, group by group, without any index."""
    groups: dict[tuple[str, str], list[Exposure]] = {}
    for e in inp.exposures:
        day = e.at.astimezone(inp.timezone).date()
        for lot in e.lots:
            groups.setdefault(("lot", lot), []).append(e)
        if e.room is not None:
            groups.setdefault(("room_day", f"{e.room}/{day.isoformat()}"), []).append(e)
    clusters = []
    for (kind, key), members in groups.items():
        counting = [ev for ev in inp.events for e in members if e.session in ev.sessions
                    and ev.kind in ("suspected_infection", "infection")
                    and e.at.astimezone(inp.timezone).date() <= ev.onset
                    <= e.at.astimezone(inp.timezone).date() + timedelta(days=inp.window_days)]
        if len({ev.patient for ev in counting}) >= 2:
            clusters.append(Cluster(kind, key, tuple(sorted({ev.id for ev in counting})),
                                    tuple(sorted({e.patient for e in members}))))
    return tuple(sorted(clusters, key=lambda c: (c.kind, c.key)))


@SETTINGS
@given(inputs())
def test_detect_agrees_with_the_rule_written_out_naively(inp):
    assert detect(inp) == naive(inp)


@SETTINGS
@given(inputs(), st.randoms(use_true_random=False))
def test_the_answer_does_not_depend_on_the_order_of_the_input(inp, rnd: random.Random):
    exposures, events = list(inp.exposures), list(inp.events)
    rnd.shuffle(exposures)
    rnd.shuffle(events)
    events = [Event(e.id, e.patient, e.kind, e.onset, tuple(rnd.sample(e.sessions, len(e.sessions))))
              for e in events]
    shuffled = SignalsInput(inp.timezone, inp.window_days, tuple(exposures), tuple(events))
    assert detect(shuffled) == detect(inp)


@SETTINGS
@given(inputs())
def test_every_cluster_links_counting_events_of_two_patients_to_its_own_sessions(inp):
    events = {e.id: e for e in inp.events}
    for cluster in detect(inp):
        assert len({events[e].patient for e in cluster.events}) >= 2
        assert list(cluster.events) == sorted(set(cluster.events))
        assert list(cluster.exposed_patients) == sorted(set(cluster.exposed_patients))
        group = [e for e in inp.exposures
                 if (cluster.key in e.lots if cluster.kind == "lot" else e.room is not None
                     and f"{e.room}/{e.at.astimezone(inp.timezone).date()}" == cluster.key)]
        assert set(cluster.exposed_patients) == {e.patient for e in group}
        for event_id in cluster.events:
            ev = events[event_id]
            assert ev.kind in COUNTING_KINDS
            assert any(e.session in ev.sessions
                       and 0 <= (ev.onset - e.at.astimezone(inp.timezone).date()).days <= inp.window_days
                       for e in group)
