"""A physician on a treatment-room tablet: the pre-session check, the start, injection points
tapped onto the face map, one deeper than the protocol with its reason, then the chart signed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from conftest import PASSWORD, Cast

from mesoclinic.charting import maps
from mesoclinic.charting.models import TreatmentSession
from mesoclinic.charting.tests.helpers import ready
from mesoclinic.inventory.models import Lot
from tests.e2e.conftest import CSP_LISTENER, TIMEOUT_MS, Problems, screenshot, sign_in

pytestmark = pytest.mark.e2e

TABLET = {"width": 820, "height": 1180}


@pytest.fixture
def tablet(browser: Any, live_server: Any, problems: Problems) -> Any:
    """A touch-screen tablet in portrait, collecting console errors and CSP violations."""
    context = browser.new_context(base_url=live_server.url, viewport=TABLET, has_touch=True,
                                  is_mobile=True, device_scale_factor=2, locale="en-GB")
    context.set_default_timeout(TIMEOUT_MS)
    context.expose_function("__reportCsp", lambda text: problems.csp_violations.append(text))
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    page.on("console", lambda msg: problems.console_errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.page_errors.append(str(exc)))
    yield page
    context.close()


def _tap(page: Any, map_id: str, x: float, y: float) -> None:
    """Tap the map at (x, y) in its own coordinates, wherever the page laid it out."""
    page.locator(f'[data-map-panel="{map_id}"] svg').scroll_into_view_if_needed()
    at = page.evaluate(
        """([mapId, x, y]) => {
            const svg = document.querySelector(`[data-map-panel="${mapId}"] svg`);
            const point = svg.createSVGPoint(); point.x = x; point.y = y;
            const screen = point.matrixTransform(svg.getScreenCTM());
            return [screen.x, screen.y];
        }""", [map_id, x, y])
    page.touchscreen.tap(at[0], at[1])


def test_a_physician_charts_points_on_a_tablet_and_signs(tablet: Any, cast: Cast,
                                                         problems: Problems) -> None:
    state = ready(cast)
    page = tablet
    sign_in(page, cast.physician, PASSWORD)
    page.goto(f"/patients/{cast.patient.public_id}/sessions/start/?plan={state.plan.public_id}")
    page.get_by_test_id("check-ready").wait_for()
    screenshot(page, "session-start-tablet")
    page.get_by_test_id("start-session").tap()
    page.wait_for_url("**/sessions/*/")
    session = TreatmentSession.objects.get()

    face = maps.MAPS["face_front"]
    for region_id, dx in (("cheek_left", -4.0), ("cheek_left", 4.0), ("forehead", 0.0)):
        x, y = face.region(region_id).anchor
        _tap(page, "face_front", x + dx, y)
    rows = page.locator("[data-points-body] tr")
    assert rows.count() == 3
    assert page.locator("[data-total-count]").inner_text() == "3"
    # The second point goes deeper than the face protocol's 1–2 mm: the row asks why.
    page.get_by_label("Depth of point 2 (mm)").fill("3")
    reason = page.get_by_label("Reason for the depth of point 2")
    reason.fill("Deep nasolabial fold")
    # A tap off the face adds nothing.
    _tap(page, "face_front", 2, 2)
    assert rows.count() == 3
    screenshot(page, "session-chart-tablet")
    page.get_by_test_id("sign-chart").tap()
    page.get_by_test_id("signed-by").wait_for()
    screenshot(page, "session-signed-tablet")

    session.refresh_from_db()
    assert session.status == "signed"
    points = list(session.points.order_by("position"))
    assert [p.region for p in points] == ["cheek_left", "cheek_left", "forehead"]
    assert points[1].depth_mm == Decimal("3.0")
    assert points[1].depth_reason == "Deep nasolabial fold"
    assert Lot.objects.get(pk=state.ha_lot.pk).on_hand == Decimal("8")
    # Signed: the map shows the points but takes no more.
    assert page.locator("[data-points-body] tr").count() == 3
    assert page.get_by_test_id("sign-chart").count() == 0
    assert problems.all() == []
