"""Properties of the pre-session check over random valid inputs: ready exactly when nothing blocks,
codes once each and in the contract's order, a stale screening alone among the screening codes,
and more credentials or stock never adding a blocking item."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mesoclinic.charting import session_check as sc
from mesoclinic.charting.session_check_contract import parse, session_check_json

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ZONES = ("Europe/Istanbul", "Europe/Berlin", "UTC", "America/New_York", "Asia/Tokyo", "Pacific/Kiritimati",
         "Pacific/Pago_Pago")
BASE = datetime(2027, 1, 11, 7, 0, tzinfo=UTC)
INGREDIENTS = ("hyaluronic_acid", "lidocaine", "vitamin_c", "biotin", "procaine")
OFFSETS = st.sampled_from([timedelta(hours=h) for h in (-10, -5, 0, 3, 5.5, 14)])


@st.composite
def moment(draw: st.DrawFn, now: datetime, days: int = 3) -> str:
    """A datetime within `days` of now, written in some offset."""
    at = now + timedelta(minutes=draw(st.integers(-days * 1440, days * 1440 // 3)))
    if draw(st.booleans()):  # near the 24 h and 30 min boundaries
        at = now - draw(st.sampled_from([timedelta(hours=24), timedelta(minutes=30)])) + timedelta(
            seconds=draw(st.integers(-2, 2)))
    return at.astimezone(timezone(draw(OFFSETS))).isoformat()


@st.composite
def day(draw: st.DrawFn, now: datetime, tz: str) -> str:
    local = now.astimezone(ZoneInfo(tz)).date()
    return (local + timedelta(days=draw(st.integers(-3, 3)))).isoformat()


@st.composite
def credential(draw: st.DrawFn, now: datetime, tz: str) -> dict[str, Any]:
    kind = draw(st.sampled_from([k.value for k in sc.CredentialKind]))
    return {"kind": kind, "valid_from": draw(day(now, tz)),
            "valid_until": draw(st.none() | day(now, tz))}


@st.composite
def inputs(draw: st.DrawFn) -> dict[str, Any]:
    tz = draw(st.sampled_from(ZONES))
    now = BASE + timedelta(minutes=draw(st.integers(-1440, 1440)))
    ingredients = draw(st.lists(st.sampled_from(INGREDIENTS), max_size=3, unique=True))
    data: dict[str, Any] = {"now": now.isoformat(), "timezone": tz}
    if draw(st.integers(0, 5)):
        data["screening"] = {
            "at": draw(moment(now, 2)), "decision": draw(st.sampled_from([d.value for d in sc.Decision])),
            "open": draw(st.lists(st.fixed_dictionaries({
                "code": st.sampled_from(["NSAID_WASHOUT", "HEART_DISEASE", "WORKUP_REQUIRED"]),
                "severity": st.sampled_from([s.value for s in sc.Severity])}), max_size=3))}
    if draw(st.booleans()):
        data["record_changed_at"] = draw(moment(now, 2))
    if draw(st.integers(0, 5)):
        data["plan"] = {"version": draw(st.integers(1, 3)),
                        "status": draw(st.sampled_from([s.value for s in sc.PlanStatus])),
                        "ingredients": ingredients, "uses_anaesthetic_cream": draw(st.booleans()),
                        "approved_by_physician": draw(st.booleans())}
    if draw(st.integers(0, 5)):
        data["consent"] = {"plan_version": draw(st.integers(1, 3)), "signed_at": draw(moment(now, 10)),
                           "withdrawn_at": draw(st.none() | moment(now, 10))}
    if draw(st.integers(0, 5)):
        data["allergy_test"] = {
            "at": draw(moment(now)),
            "ingredients": draw(st.lists(st.sampled_from(INGREDIENTS), max_size=5, unique=True)),
            "reactions": draw(st.lists(st.sampled_from(INGREDIENTS), max_size=2, unique=True))}
    if draw(st.integers(0, 5)):
        data["workup"] = {"signed_off_at": draw(st.none() | moment(now, 10))}
    if draw(st.integers(0, 5)):
        data["cream_applied_at"] = draw(moment(now, 1))
    data["performer"] = {"role": draw(st.sampled_from([r.value for r in sc.Role])),
                         "credentials": draw(st.lists(credential(now, tz), max_size=5))}
    if draw(st.integers(0, 5)):
        data["clinic_licence"] = {"valid_from": draw(day(now, tz)),
                                  "valid_until": draw(st.none() | day(now, tz))}
    data["open_adverse_events"] = draw(st.lists(st.fixed_dictionaries(
        {"severity": st.sampled_from([s.value for s in sc.EventSeverity]), "cleared": st.booleans()},
        optional={"id": st.sampled_from(["AE-1", "AE-2"]), "code": st.sampled_from(["rash", "infection"])}),
        max_size=3))
    data["lots"] = draw(st.lists(st.fixed_dictionaries({
        "product": st.sampled_from(INGREDIENTS), "lot": st.sampled_from(["L-1", "L-2", "L-3"]),
        "expires": day(now, tz), "recalled": st.booleans(),
        "available": st.integers(0, 5) | st.decimals(0, 5, places=2).map(float),
        "needed": st.integers(0, 5) | st.decimals(0, 5, places=2).map(float)}), max_size=4))
    return data


def codes(data: dict[str, Any]) -> list[str]:
    return [b["code"] for b in session_check_json(data)["blocking"]]


@given(inputs())
@SETTINGS
def test_ready_exactly_when_nothing_blocks_and_codes_come_once_in_order(data):
    result = session_check_json(data)
    found = [b["code"] for b in result["blocking"]]
    assert result["ready"] is (not found)
    assert found == [c for c in sc.CODES if c in found]  # the contract's order, each once
    for entry in result["blocking"]:
        assert set(entry) == {"code", "message", "fix"}
        assert entry["message"]
        assert entry["fix"]
        assert "%(" not in entry["message"] + entry["fix"]
    engine = sc.check(parse(data))
    assert engine.ready is result["ready"]
    assert list(engine.codes) == found


@given(inputs())
@SETTINGS
def test_a_stale_screening_is_the_only_screening_code(data):
    found = codes(data)
    if "SCREENING_STALE" in found:
        assert not {"SCREENING_BLOCKS", "SCREENING_INCOMPLETE", "SCREENING_OPEN_ITEM"} & set(found)
    assert not {"SCREENING_BLOCKS", "SCREENING_INCOMPLETE"} <= set(found)


@given(inputs())
@SETTINGS
def test_missing_items_are_reported_alone_within_their_group(data):
    found = set(codes(data))
    if "CONSENT_MISSING" in found:
        assert not {"CONSENT_OUTDATED", "CONSENT_WITHDRAWN"} & found
    if "ALLERGY_TEST_MISSING" in found:
        assert not {"ALLERGY_TEST_TOO_RECENT", "ALLERGY_TEST_INCOMPLETE", "ALLERGY_TEST_REACTION"} & found
    assert not {"CREAM_NOT_APPLIED", "CREAM_NOT_READY"} <= found


@given(inputs(), st.sampled_from([k.value for k in sc.CredentialKind]))
@SETTINGS
def test_adding_a_credential_valid_today_never_adds_a_blocking_item(data, kind):
    before = set(codes(data))
    more = copy.deepcopy(data)
    more["performer"]["credentials"].append({"kind": kind, "valid_from": "2000-01-01", "valid_until": None})
    assert set(codes(more)) <= before


@given(inputs())
@SETTINGS
def test_a_physician_with_all_three_credentials_valid_today_is_qualified(data):
    data["performer"] = {"role": "physician", "credentials": [
        {"kind": k, "valid_from": "2000-01-01", "valid_until": None}
        for k in ("medical_licence", "dermatology", "mesotherapy_training")]}
    assert "PERFORMER_NOT_QUALIFIED" not in codes(data)


@given(inputs(), st.data())
@SETTINGS
def test_more_stock_or_dropping_a_lot_never_adds_a_blocking_item(data, more):
    before = set(codes(data))
    if data["lots"]:
        richer = copy.deepcopy(data)
        i = more.draw(st.integers(0, len(data["lots"]) - 1))
        richer["lots"][i]["available"] += more.draw(st.integers(0, 10))
        assert set(codes(richer)) <= before
        fewer = copy.deepcopy(data)
        del fewer["lots"][i]
        assert set(codes(fewer)) <= before


@given(inputs())
@SETTINGS
def test_an_entry_for_a_lot_code_names_every_lot_concerned(data):
    local_day = datetime.fromisoformat(data["now"]).astimezone(ZoneInfo(data["timezone"])).date().isoformat()
    concerned = {
        "LOT_EXPIRED": [lot["lot"] for lot in data["lots"] if lot["expires"] < local_day],
        "LOT_RECALLED": [lot["lot"] for lot in data["lots"] if lot["recalled"]],
        "LOT_INSUFFICIENT": [lot["lot"] for lot in data["lots"] if lot["available"] < lot["needed"]],
    }
    entries = {b["code"]: b["message"] for b in session_check_json(data)["blocking"]}
    for code, lots in concerned.items():
        assert (code in entries) is bool(lots)
        for number in lots:
            assert number in entries.get(code, "")


@given(inputs())
@SETTINGS
def test_the_answer_does_not_depend_on_the_offset_now_is_written_in(data):
    moment = datetime.fromisoformat(data["now"])
    shifted = copy.deepcopy(data)
    shifted["now"] = moment.astimezone(ZoneInfo("Asia/Kathmandu")).isoformat()
    assert session_check_json(shifted) == session_check_json(data)
