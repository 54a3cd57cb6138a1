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
