"""The precedence of channel costs for cost to collect: the client company's cost table, then segmentation's own
/costs, then the platform's defaults."""

from decimal import Decimal

import pytest

from segmentation.domain.strategy import cost_sources, full_costs
from segmentation.domain.treatment import DEFAULT_CHANNEL_COSTS, Treatment, cost_to_collect

pytestmark = pytest.mark.unit


def test_the_client_cost_table_wins_on_the_channels_it_prices() -> None:
    own, table = {"sms": Decimal("1"), "letter": Decimal("1500")}, {"sms": Decimal("120.50")}
    costs = full_costs(own, table)
    assert costs == {**DEFAULT_CHANNEL_COSTS, "sms": Decimal("120.50"), "letter": Decimal("1500")}
    assert cost_sources(own, table) == {"sms": "cost_table", "letter": "segmentation", "email": "default",
                                        "whatsapp": "default", "voice": "default", "agent": "default"}
    letters = Treatment("late", ("sms", "letter"), 2)
    assert cost_to_collect(letters, costs) == Decimal("3241.00")


def test_without_a_table_the_costs_are_as_before() -> None:
    assert full_costs({"whatsapp": Decimal("0.05")}, None) == full_costs({"whatsapp": Decimal("0.05")})
    assert full_costs(None, None) == DEFAULT_CHANNEL_COSTS
    assert set(cost_sources(None, None).values()) == {"default"}
