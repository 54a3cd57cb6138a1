"""Plans made with a chosen tuple of optimizer rules, for the rule tests."""

from __future__ import annotations

from federation.optimizer import Context, optimize
from federation.parser import parse
from federation.planner import compile_plan


def plan_with(fed, sql: str, rules, params=None):
    """The plan of ``sql`` after exactly ``rules`` (in order), as the engine compiles it."""
    params = dict(params or {})
    planner = fed._planner
    catalog = planner.catalog.snapshot()
    draft = planner.bind(parse(sql).query, params, catalog)
    context = Context(catalog, params, planner.describe, planner.max_keys)
    return compile_plan(optimize(draft, context, tuple(rules)), context)


def texts(plan) -> list[str]:
    return [f.text for f in plan.fragments]


def plan_unshipped(fed, sql: str, params=None):
    """The plan of ``sql`` with every rule but shipping (optimizer/shipping.py): for the
    tests of what the other rules do to a query whose last step would run in SQLite."""
    import copy

    planner = copy.copy(fed._planner)
    planner.ship_rows = 0
    return planner.plan(parse(sql).query, dict(params or {}))
