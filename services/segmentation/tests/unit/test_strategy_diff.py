"""What changed between two strategy versions, as the console shows it: only the cells that changed, the tiers,
the challenger's arrival with its share; nothing when nothing changed; everything new against no version."""

import pytest

from segmentation.domain.strategy_diff import strategy_changes
from segmentation.schemas import StrategyIn

pytestmark = pytest.mark.unit


def cell(bucket: str, tier: str, treatment: str = "sms_only", channels: tuple[str, ...] = ("sms",),
         **more: object) -> dict[str, object]:
    return {"bucket": bucket, "tier": tier, "treatment": treatment, "channels": list(channels), **more}


BASE = StrategyIn.model_validate({"tiers": {"high": "100000", "medium": "10000"},
                                  "rules": [cell("0", t) for t in ("high", "medium", "low")]})


def test_only_what_changed_is_shown_cell_by_cell() -> None:
    changed = BASE.model_copy(update={"rules": [
        *BASE.rules[:2], StrategyIn.model_validate({"tiers": {"high": "1", "medium": "0"}, "rules": [cell(
            "0", "low", "settle", ("whatsapp",), offer={"kind": "settlement", "discount_pct": "20"},
            contacts_per_channel=2, cadence_days=5)]}).rules[0]]})
    [change] = strategy_changes(BASE, changed)
    assert change.where == "Campeón · 0 días · valor bajo"
    assert change.before == "sms_only: sms × 1 cada 3 días; sin oferta"
    assert change.after == "settle: whatsapp × 2 cada 5 días; acuerdo de pago (20 % de descuento)"
    assert strategy_changes(BASE, BASE) == []


def test_tiers_conditions_and_the_challenger_are_named_in_spanish() -> None:
    after = StrategyIn.model_validate({
        "tiers": {"high": "150000", "medium": "10000"},
        "rules": [*(cell("0", t) for t in ("high", "medium", "low")),
                  cell("0", "low", "agent_first", ("agent",), when={"willingness": "high"})],
        "challenger": {"share": "0.25", "tiers": {"high": "150000", "medium": "10000"},
                       "rules": [cell("0", "high", "agent_first", ("agent",))]}})
    changes = {c.where: (c.before, c.after) for c in strategy_changes(BASE, after)}
    assert changes["Campeón · umbral de valor alto"] == ("100000", "150000")
    assert changes["Campeón · 0 días · valor bajo · si voluntad de pago alto"] == (
        "", "agent_first: agent × 1 cada 3 días; sin oferta")
    assert changes["Retador"] == ("", "25 % de las cuentas")
    assert changes["Retador · 0 días · valor alto"] == ("", "agent_first: agent × 1 cada 3 días; sin oferta")
    assert len(strategy_changes(None, BASE)) == 2 + 3  # against nothing, every tier and cell is new
