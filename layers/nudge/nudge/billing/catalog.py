"""The plan catalog and money arithmetic.

The catalog is configuration, not code: ``catalog.json`` beside this module by default, or the file
named by ``NUDGE_BILLING_CATALOG`` (an operator edits plans, rates and tax rates without a release).
``base_fee_cents`` is per month; a plan ``billed: annually`` is invoiced twelve months of base fee at
once, in advance, and its usage monthly. Enterprise plans are custom: edit their entry.

Money is integer cents throughout. Rates are cents per 1,000 units, so fractions of a cent per unit
are expressible. The rounding rule: each line item is rounded once, half up, to the cent
(``round_half_up``); tax is computed on the rounded subtotal and rounded the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from nudge.errors import NudgeError
from nudge.settings import get_settings

DEFAULT_CATALOG = Path(__file__).with_name("catalog.json")


class UnknownPlan(NudgeError):
    """A workspace's plan is not in the catalog: it cannot be billed until an operator adds the plan (or
    moves the workspace to one that exists)."""


@dataclass(frozen=True)
class Plan:
    key: str
    name: str
    base_fee_cents: int  # per month
    billed: str  # "monthly" or "annually"
    included_people: int
    included_objects: int
    included_messages: int
    people_overage_cents_per_1000: int
    objects_overage_cents_per_1000: int

    @property
    def months_per_base_invoice(self) -> int:
        return 12 if self.billed == "annually" else 1


@dataclass(frozen=True)
class Catalog:
    plans: dict[str, Plan]
    message_overage_cents_per_1000: int
    tax_rates_basis_points: dict[str, int]

    def plan(self, key: str) -> Plan:
        try:
            return self.plans[key]
        except KeyError as exc:
            raise UnknownPlan(f"plan {key!r} is not in the billing catalog") from exc

    def tax_rate(self, location: str | None) -> int:
        """Basis points (1/100 of a percent); an unknown or missing location is taxed at 0."""
        return self.tax_rates_basis_points.get(location or "", 0)


def round_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half up, in integers only (no float ever touches money)."""
    return (2 * numerator + denominator) // (2 * denominator)


def per_thousand(units: int, cents_per_1000: int) -> int:
    return round_half_up(units * cents_per_1000, 1000)


def _parse(data: dict[str, Any]) -> Catalog:
    plans = {}
    for key, raw in data["plans"].items():
        plans[key] = Plan(
            key=key,
            name=str(raw["name"]),
            base_fee_cents=int(raw["base_fee_cents"]),
            billed=str(raw.get("billed", "monthly")),
            included_people=int(raw["included_people"]),
            included_objects=int(raw["included_objects"]),
            included_messages=int(raw["included_messages"]),
            people_overage_cents_per_1000=int(raw["people_overage_cents_per_1000"]),
            objects_overage_cents_per_1000=int(raw["objects_overage_cents_per_1000"]),
        )
        if plans[key].billed not in ("monthly", "annually"):
            raise ValueError(f"plan {key}: billed must be monthly or annually")
    return Catalog(
        plans=plans,
        message_overage_cents_per_1000=int(data["message_overage_cents_per_1000"]),
        tax_rates_basis_points={k: int(v) for k, v in data.get("tax_rates_basis_points", {}).items()},
    )


@lru_cache(maxsize=1)
def load() -> Catalog:
    path = Path(get_settings().billing_catalog or DEFAULT_CATALOG)
    return _parse(json.loads(path.read_text()))
