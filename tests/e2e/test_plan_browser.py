"""A physician writes a plan in a real browser: protocol defaults, a live deviation, approval."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import PASSWORD, Cast

from mesoclinic.plans.models import TreatmentPlan
from tests.e2e.conftest import Problems, screenshot, sign_in

pytestmark = pytest.mark.e2e


def open_editor(page: Any, cast: Cast) -> None:
    """From the chart to the plan editor for wrinkles on the face (the protocol's defaults)."""
    page.goto(f"/patients/{cast.patient.public_id}/")
    page.get_by_role("link", name="New plan").click()
    page.get_by_label("Indication").select_option("wrinkles")
    page.get_by_label("Area", exact=True).select_option("face")
    page.get_by_role("button", name="Continue").click()
    # The editor has loaded (under load the click returns before the next page is there).
    page.get_by_test_id("plan-review").wait_for()


def write_plan(page: Any, cast: Cast) -> TreatmentPlan:
    """From the chart: choose the protocol, fill the solution, justify one deviation, save."""
    open_editor(page, cast)
    assert page.get_by_label("Sessions", exact=True).input_value() == "8"
    assert page.get_by_test_id("within-protocol").is_visible()

    page.locator("#id_ingredient_0").select_option("hyaluronic_acid")
    page.locator("#id_concentration_0").fill("1.5")
    page.locator("#id_volume_0").fill("2")
    # Twelve sessions is outside the face protocol's 6–10: the check flags it while typing.
    page.get_by_label("Sessions", exact=True).fill("12")
    page.get_by_label("Weekly series: sessions").fill("12")
    page.get_by_label("Weekly series: sessions").blur()
    deviation = page.get_by_test_id("deviation")
    deviation.wait_for()
    assert "outside the protocol's 6–10" in deviation.inner_text()
    deviation.locator("textarea").fill("Deep wrinkles; a longer series was agreed with the patient.")
    screenshot(page, "plan-editor")
    page.get_by_role("button", name="Save plan").click()
    page.wait_for_url("**/plans/*/")
    return TreatmentPlan.objects.get(patient=cast.patient)


def test_a_physician_writes_and_approves_a_plan(page: Any, cast: Cast, problems: Problems) -> None:
    sign_in(page, cast.physician, PASSWORD)
    plan = write_plan(page, cast)
    assert plan.current.sessions == 12
    assert plan.current.justifications["sessions"].startswith("Deep wrinkles")
    assert page.get_by_test_id("plan-status").inner_text() == "Draft"
    page.get_by_role("button", name="Screen and approve").click()
    page.get_by_test_id("plan-approved").wait_for()
    assert page.get_by_test_id("plan-status").inner_text() == "Proposed"
    screenshot(page, "plan-detail")
    assert problems.all() == []


def _price_list(cast: Cast) -> None:
    from decimal import Decimal

    from mesoclinic.audit.log import Actor
    from mesoclinic.plans import pricing
    from mesoclinic.plans.prices import save_price_list

    entries = tuple(pricing.PriceEntry("face", "standard", "physician", kind, Decimal(price))
                    for kind, price in (("cosmetic", "3500.00"), ("medical", "3000.00")))
    save_price_list(clinic=cast.clinic, by=cast.manager, actor=Actor(username="test"),
                    price_list=pricing.PriceList("TRY", Decimal("0.20"), Decimal("1.00"), entries,
                                                 (pricing.PackageDiscount(6, Decimal("10")),),
                                                 Decimal("1000.00")))


def test_plan_consent_on_a_tablet_and_an_accepted_quote(page: Any, cast: Cast,
                                                        problems: Problems) -> None:
    _price_list(cast)
    page.set_viewport_size({"width": 768, "height": 1024})
    sign_in(page, cast.physician, PASSWORD)
    plan = write_plan(page, cast)
    page.get_by_role("button", name="Screen and approve").click()
    page.get_by_test_id("plan-approved").wait_for()

    page.get_by_role("link", name="Sign with the patient").click()
    page.get_by_test_id("consent-text").wait_for()
    assert "Ayşe Şahin" in page.get_by_test_id("consent-text").inner_text()
    pad = page.get_by_test_id("signature-pad")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    assert box is not None
    assert box["width"] <= 768
    page.mouse.move(box["x"] + 40, box["y"] + 120)
    page.mouse.down()
    for step in range(1, 12):
        page.mouse.move(box["x"] + 40 + step * 30, box["y"] + 120 + (25 if step % 2 else -25))
    page.mouse.up()
    page.get_by_label("Yes").check()
    screenshot(page, "consent-tablet")
    page.get_by_role("button", name="Sign the consent").click()
    page.get_by_test_id("consent-valid").wait_for()
    plan.refresh_from_db()
    assert plan.status == "accepted"
    consent = plan.consents.get()
    assert consent.method == "drawn"
    assert consent.signature.startswith("data:image/png;base64,")
    assert consent.photo_consent is True

    page.get_by_role("link", name="New quote").first.click()
    page.get_by_role("button", name="Price it").click()
    total = page.get_by_test_id("quote-total").inner_text()
    assert "TRY" in total
    page.get_by_role("button", name="The patient accepts this quote").click()
    assert page.get_by_test_id("quote-status").inner_text() == "Accepted"
    screenshot(page, "quote")
    assert plan.quotes.get().accepted_at is not None
    assert problems.all() == []


def test_the_live_protocol_check_swaps_without_inline_styles(page: Any, cast: Cast,
                                                             problems: Problems) -> None:
    """A swapped element that a script styled through the CSSOM carries `style=""`; htmx must not
    copy it back as an inline style, which our CSP refuses (CI caught this once)."""
    sign_in(page, cast.physician, PASSWORD)
    open_editor(page, cast)
    # The CSSOM is not subject to CSP; setting and clearing a property leaves style="" behind.
    page.evaluate("const r = document.getElementById('plan-review');"
                  "r.style.color = 'red'; r.style.color = '';")
    assert page.locator("#plan-review").get_attribute("style") == ""
    page.get_by_label("Sessions", exact=True).fill("12")
    page.get_by_label("Sessions", exact=True).blur()
    page.get_by_test_id("deviation").wait_for()
    assert problems.all() == []


def test_a_late_protocol_check_keeps_the_justification_being_typed(page: Any, cast: Cast,
                                                                   problems: Problems) -> None:
    """A check sent before the physician typed answers after: the typed reason must survive."""
    sign_in(page, cast.physician, PASSWORD)
    open_editor(page, cast)
    page.get_by_label("Sessions", exact=True).fill("12")
    page.get_by_label("Sessions", exact=True).blur()
    box = page.get_by_test_id("deviation").locator("textarea")
    box.wait_for()

    held: list[tuple[Any, Any]] = []  # the server answers at once; the browser hears it later
    def hold(route: Any) -> None:
        if held:  # only the first check is held back
            route.continue_()
        else:
            held.append((route, route.fetch()))

    page.route("**/plans/check/", hold)
    with page.expect_response("**/plans/check/") as answered:
        page.locator("#id_ingredient_0").select_option("hyaluronic_acid")  # a check goes out,
        # without a reason yet
        while not held:
            page.wait_for_timeout(20)
        box.click()
        box.fill("Deep wrinkles; agreed with the patient.")  # typed while the check is out
        route, response = held[0]
        route.fulfill(response=response)
    assert answered.value.ok
    # A check sent later (the box losing focus at teardown) must not meet a closing context.
    page.unroute_all(behavior="ignoreErrors")
    page.wait_for_timeout(100)  # htmx swaps after the response arrives
    assert box.input_value() == "Deep wrinkles; agreed with the patient."
    # Leave the box the way a user would; let the check that sends finish before teardown.
    page.locator("h1").click()
    page.wait_for_timeout(400)
    page.wait_for_load_state("networkidle")
    assert box.input_value() == "Deep wrinkles; agreed with the patient."
    assert problems.all() == []
