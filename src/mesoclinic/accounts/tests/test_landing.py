"""Each role lands where its work is, instead of on a page it may not open."""

from __future__ import annotations

import pytest
from django.urls import reverse


@pytest.mark.parametrize(
    ("who", "landing"),
    [
        ("physician", "patients:list"),
        ("nurse", "patients:list"),
        ("receptionist", "patients:list"),
        ("auditor", "audit:trail"),
        ("manager", "staff:list"),
    ],
)
def test_home_sends_each_role_to_its_own_page(cast, who: str, landing: str) -> None:
    response = cast.client_for(getattr(cast, who)).get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == reverse(landing)


def test_auditor_landing_page_opens(cast) -> None:
    client = cast.client_for(cast.auditor)
    response = client.get(reverse("home"), follow=True)
    assert response.status_code == 200
    assert b"Audit trail" in response.content
