"""What changed between two versions of a strategy, cell by cell, in words an analyst reads in the console: the
value tiers, each matrix cell's treatment (bucket x tier, and its conditions on the indicators), and the challenger
(its share, tiers and cells). Pure: it compares two documents and reads nothing else."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, Protocol

TIER_NAMES = {"high": "alto", "medium": "medio", "low": "bajo"}
Indicator = Literal["capacity", "willingness", "contactability", "trust"]
INDICATOR_NAMES = {"capacity": "capacidad de pago", "willingness": "voluntad de pago",
                   "contactability": "contactabilidad", "trust": "confianza"}
OFFER_NAMES = {"none": "sin oferta", "settlement": "acuerdo de pago", "instalment_plan": "plan de cuotas",
               "do_not_pursue": "no gestionar"}


class Offer(Protocol):
    @property
    def kind(self) -> str: ...

    @property
    def discount_pct(self) -> Decimal: ...

    @property
    def instalments(self) -> int: ...


class Rule(Protocol):
    @property
    def bucket(self) -> str: ...

    @property
    def tier(self) -> str: ...

    @property
    def treatment(self) -> str: ...

    @property
    def channels(self) -> Sequence[str]: ...

    @property
    def contacts_per_channel(self) -> int: ...

    @property
    def cadence_days(self) -> int: ...

    @property
    def offer(self) -> Offer: ...

    @property
    def when(self) -> Mapping[Indicator, str]: ...


class Tiers(Protocol):
    @property
    def high(self) -> Decimal: ...

    @property
    def medium(self) -> Decimal: ...


class Challenger(Protocol):
    @property
    def share(self) -> Decimal: ...

    @property
    def tiers(self) -> Tiers: ...

    @property
    def rules(self) -> Sequence[Rule]: ...


class Strategy(Protocol):
    @property
    def tiers(self) -> Tiers: ...

    @property
    def rules(self) -> Sequence[Rule]: ...

    @property
    def challenger(self) -> Challenger | None: ...


@dataclass(frozen=True)
class Change:
    """One difference: where (e.g. "Campeón · 31-60 · alto") and what it was and became (empty: not there)."""

    where: str
    before: str
    after: str


def describe_rule(rule: Rule) -> str:
    """A cell's treatment in one line: treatment, channels × contacts every N days, the offer."""
    offer = OFFER_NAMES.get(rule.offer.kind, rule.offer.kind)
    if rule.offer.kind == "settlement":
        offer += f" ({rule.offer.discount_pct.normalize():f} % de descuento)"
    elif rule.offer.kind == "instalment_plan":
        offer += f" ({rule.offer.instalments} cuotas)"
    channels = ", ".join(rule.channels) or "ningún canal"
    return (f"{rule.treatment}: {channels} × {rule.contacts_per_channel} cada {rule.cadence_days} días; {offer}")


def _cell(rule: Rule) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    return rule.bucket, rule.tier, tuple(sorted(rule.when.items()))


def _cell_name(arm: str, cell: tuple[str, str, tuple[tuple[str, str], ...]]) -> str:
    bucket, tier, when = cell
    conditions = "".join(f" · si {INDICATOR_NAMES.get(k, k)} {TIER_NAMES.get(v, v)}" for k, v in when)
    return f"{arm} · {bucket} días · valor {TIER_NAMES.get(tier, tier)}{conditions}"


def _tiers(arm: str, before: Tiers | None, after: Tiers | None) -> Iterable[Change]:
    for level in ("high", "medium"):
        old = None if before is None else getattr(before, level)
        new = None if after is None else getattr(after, level)
        if old != new:
            yield Change(f"{arm} · umbral de valor {TIER_NAMES[level]}", "" if old is None else f"{old:f}",
                         "" if new is None else f"{new:f}")


def _rules(arm: str, before: Sequence[Rule], after: Sequence[Rule]) -> Iterable[Change]:
    old = {_cell(r): describe_rule(r) for r in before}
    new = {_cell(r): describe_rule(r) for r in after}
    for cell in sorted(old.keys() | new.keys()):
        if old.get(cell) != new.get(cell):
            yield Change(_cell_name(arm, cell), old.get(cell, ""), new.get(cell, ""))


def strategy_changes(before: Strategy | None, after: Strategy) -> list[Change]:
    """Every difference from `before` (None: nothing before it, so every cell is new) to `after`, in the order the
    console shows them: tiers, the champion's cells, then the challenger."""
    changes = list(_tiers("Campeón", before.tiers if before else None, after.tiers))
    changes += _rules("Campeón", before.rules if before else (), after.rules)
    old_c, new_c = (before.challenger if before else None), after.challenger
    if old_c is None and new_c is None:
        return changes
    old_share = "" if old_c is None else f"{old_c.share * 100:.0f} % de las cuentas"
    new_share = "" if new_c is None else f"{new_c.share * 100:.0f} % de las cuentas"
    if old_share != new_share:
        changes.append(Change("Retador", old_share, new_share))
    changes += _tiers("Retador", old_c.tiers if old_c else None, new_c.tiers if new_c else None)
    changes += _rules("Retador", old_c.rules if old_c else (), new_c.rules if new_c else ())
    return changes
