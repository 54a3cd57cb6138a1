"""Stage 2b: optimizer rules, each a pure function ``(Draft, Context) -> Draft``.

The binder (planner.py) produces a Draft: the DuckDB query as a sqlglot tree whose
leaves are ``__leafN`` placeholders, and one ``Access`` per leaf. Each rule below
returns a new Draft (it never changes the one it is given); ``RULES`` is their order.
A rule only moves work into a source when the source evaluates it exactly as DuckDB
would (each source module decides), so every rule keeps results identical.
"""

from __future__ import annotations

from typing import Callable

from ..plan import Draft
from .context import Context
from .aggregates import push_aggregates
from .estimates import estimate_rows
from .filters import push_filters
from .limits import push_limits
from .projection import prune_columns
from .semijoins import plan_semijoins
from .shipping import ship_to_sqlite
from .subtrees import push_subtrees

Rule = Callable[[Draft, Context], Draft]

RULES: tuple[Rule, ...] = (
    push_subtrees,   # a whole query (or subquery) over one SQLite source runs there
    push_filters,    # WHERE / ON conjuncts over one table go into its source
    push_limits,     # ORDER BY ... LIMIT over one table goes into its source
    prune_columns,   # each access fetches only the columns the DuckDB SQL still uses
    push_aggregates,  # a GROUP BY over one GRAPH_TABLE runs in its Cypher (partial aggregates)
    estimate_rows,   # row estimates from source statistics
    plan_semijoins,  # small side first; its join keys filter the big side
    ship_to_sqlite,  # a query over one SQLite source and a few graph rows: its last step in SQLite
)

# Without optimization an access still needs its columns (all of them).
BASELINE: tuple[Rule, ...] = ()


def optimize(draft: Draft, context: Context, rules: tuple[Rule, ...] = RULES) -> Draft:
    for rule in rules:
        draft = rule(draft, context)
    return draft


__all__ = ["BASELINE", "RULES", "Context", "optimize"]
