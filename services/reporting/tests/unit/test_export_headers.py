"""Every column of the reports' exports has its Spanish header for es-* client companies, and every amount of
money is written as money (docs/kpis.md, Exports): a figure added to a report cannot be exported in English or
as a bare number."""

from decimal import Decimal

import pytest

from reporting.domain.headers import MONEY, SPANISH, group_for, headers_for
from reporting.schemas import CommissionLine, RecoveryFigures

pytestmark = pytest.mark.unit
RATES = {"rate"}  # a commission rate is a Decimal, not money


@pytest.mark.parametrize("model", [RecoveryFigures, CommissionLine])
def test_every_exported_column_has_a_spanish_header_and_money_is_money(model: type) -> None:
    fields = model.model_fields  # type: ignore[attr-defined]
    assert [name for name in fields if name not in SPANISH] == []
    assert [name for name, f in fields.items() if f.annotation is Decimal and name not in MONEY | RATES] == []
    assert headers_for(["outstanding", "key"], "es-CO") == ["saldo pendiente", "grupo"]
    assert headers_for(["outstanding"], "en-US") == ["outstanding"]


@pytest.mark.parametrize(("group_by", "key", "spanish"), [
    ("channel", "none", "sin contacto"), ("channel", "voice", "llamada automática"), ("channel", "email", "correo"),
    ("strategy_arm", "challenger", "retador"), ("channel", "whatsapp", "WhatsApp"),
    ("product", "unassigned", "sin asignar"), ("bucket", "unassigned", "sin asignar"), (None, "total", "total"),
    ("strategy_arm", "challenger", "retador"), ("segment", "Al día/high", "Al día/alto"),
    ("segment", "361+/low/unprofitable", "361+/bajo/no rentable"), ("segment", "1-30/medium/no_rule", "1-30/medio/sin regla"),
    ("product", "none", "none"), ("bucket", "high", "high"),  # a client company's own words stay as they are
])
def test_the_platforms_group_names_are_spanish_in_a_spanish_export(group_by: str | None, key: str,
                                                                   spanish: str) -> None:
    assert group_for(group_by, key, "es-CO") == spanish
    assert group_for(group_by, key, "en-US") == key
