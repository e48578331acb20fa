"""Gateway accounts' settings: production refuses Wompi's API over anything but TLS (its answer decides where a
payment's money goes)."""

from __future__ import annotations

import pytest

from payments.settings import PaymentsSettings

pytestmark = pytest.mark.unit


def test_production_refuses_wompis_api_without_tls() -> None:
    plain = PaymentsSettings(wompi_api_base_url="http://wompi.internal")
    assert [p.problem for p in plain.production_problems() if "Wompi" in p.problem] == [
        "Wompi's API base URL is not https (http)"]
    for fine in (None, "https://sandbox.wompi.co"):
        assert not [p for p in PaymentsSettings(wompi_api_base_url=fine).production_problems()
                    if "Wompi" in p.problem]
