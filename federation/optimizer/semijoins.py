"""Cross-source dynamic filtering (semi-join reduction, a bind join).

For ``A JOIN B ON a.k = b.k`` across sources, when A is estimated small: run A
first and fetch from B only the rows whose key is among A's keys (SQLite: one
bound JSON array read by ``json_each``; Kuzu: ``WHERE n.k IN $keys``; LanceDB:
``where k IN (...)``). At run time, above ``max_keys`` distinct keys, B is fetched
unreduced instead; with no keys at all, B is not fetched.

Which side may be reduced: both sides of an inner join or a WHERE equality, the
right side of a LEFT JOIN by its ON. Never a VECTOR_SEARCH (filtering before the
kNN changes the top k; a prefilter ``IN (SELECT ...)`` is the way to ask for that).
Keys must be of one type family (integers, or strings) on both sides, so that the
source compares them exactly as DuckDB's join would.
"""

from __future__ import annotations

from dataclasses import replace

import pyarrow as pa
from sqlglot import exp

from ..catalog import key_family
from ..plan import Draft, Reduce
from .context import Context
from .estimates import end_degree
from .tree import conjuncts, find_all, from_leaves

BENEFIT = 4.0  # reduce only a side estimated at least this many times bigger


def plan_semijoins(draft: Draft, context: Context) -> Draft:
    accesses = {a.id: a for a in draft.accesses}
    # a leaf's column that a subtree run whole in SQLite returns as it is
    via = {key: (a.id, name) for a in draft.accesses for key, name in a.provides}
    options: dict[int, list[tuple]] = {}
    ctes = _ctes_read_once(draft.tree)
    for select in find_all(draft.tree, exp.Select):
        items = dict(from_leaves(select)) | dict(_from_queries(select, ctes))
        where = select.args.get("where")
        for part in conjuncts(where.this if where is not None else None):
            _both_ways(_equi(part, via), items, options)
        for join in select.args.get("joins") or []:
            side = (join.side or "").upper()
            for part in conjuncts(join.args.get("on")):
                if side == "":
                    _both_ways(_equi(part, via), items, options)
                elif side == "LEFT":
                    tag = _equi(part, via)
                    target = next((leaf for leaf, j in items.items() if j is join), None)
                    if tag and target is not None and target in (tag[0][0], tag[1][0]):
                        consumer, producer = (tag[0], tag[1]) if tag[0][0] == target else (tag[1], tag[0])
                        options.setdefault(consumer[0], []).append((consumer, producer))
    # rounds: a table reduced on its key has at most its producer's rows, and may then
    # reduce another (``t.id IN (keys)``, then ``audit_log`` by ``t``'s ids)
    reduced: dict[int, object] = {}
    for _ in range(len(accesses)):
        found = _choose(accesses, options, context)
        if not found:
            break
        for access in found:
            producer = accesses[access.reduce.producer]
            estimate = _reduced_rows(access, producer, context)
            if estimate is not None and (access.estimate is None or estimate < access.estimate):
                access = replace(access, estimate=estimate)
            accesses[access.id] = reduced[access.id] = access
    return draft.replace(*reduced.values()) if reduced else draft


def _choose(accesses, options, context: Context) -> list:
    """The best producer for each consumer not reduced yet (none that waits for it)."""
    changed = []
    for consumer_id, candidates in options.items():
        consumer = accesses[consumer_id]
        if consumer.reduce is not None:
            continue
        best = None
        for (_, column, ctype), (pid, pcolumn, ptype) in candidates:
            producer = accesses.get(pid)
            if producer is None:  # its derived table now runs whole in SQLite
                continue
            if not _worth(producer, consumer, context) or not _same_family(ctype, ptype):
                continue
            if _waits_for(producer, consumer_id, accesses):
                continue
            if not context.source(consumer.source).can_reduce(consumer, column):
                continue
            if best is None or (producer.estimate, pid) < (accesses[best.producer].estimate, best.producer):
                best = Reduce(pid, pcolumn, column, rows=consumer.estimate if _whole_table(consumer) else None)
        if best is not None:
            changed.append(replace(consumer, reduce=best))
    return changed


def _waits_for(access, other: int, accesses) -> bool:
    """Whether ``access`` runs after ``other`` (through the chain of its producers)."""
    seen = set()
    while access is not None and access.reduce is not None and access.id not in seen:
        seen.add(access.id)
        if access.reduce.producer == other:
            return True
        access = accesses.get(access.reduce.producer)
    return False


def _whole_table(access) -> bool:
    """``access`` reads a whole table: its estimate is the table's row count, not a guess."""
    return access.kind == "scan" and not access.filters and access.limit is None and access.estimate is not None


def key_bound(bound: int, reduce: Reduce) -> int | None:
    """The most keys a semi-join pushes at run time (None: any number, the query asked
    for it): ``bound`` (``[planner] max_keys``), and, into a whole table of known size,
    no more than a ``BENEFIT``-th of its rows. The plan was made for the estimated keys;
    when the producer returns many more, looking each up costs more than reading the
    table (6,251 keys into 10,000 Kuzu nodes: 34 ms, the whole table 5 ms)."""
    if reduce.required:
        return None
    if reduce.rows is None:
        return bound
    return min(bound, max(1, int(reduce.rows / BENEFIT)))


def _reduced_rows(access, producer, context: Context) -> float | None:
    """Rows of ``access`` once reduced by ``producer``'s keys, where the catalog tells
    how many rows a key has: one on a primary key; on a relationship table's
    ``_from`` (``_to``), its mean out- (in-) degree, times the share of rows its own
    filters keep. None: no better than the unreduced estimate."""
    if producer.estimate is None:
        return None
    column = access.reduce.column
    if _is_key(access, column):
        return producer.estimate
    table = access.table if access.kind == "scan" else None
    if table is None or table.kind != "rel" or column.lower() not in ("_from", "_to") or access.estimate is None:
        return None
    source = context.source(access.source)
    relationships = source.row_count(table)
    degree = end_degree(table, column.lower() == "_from", context.catalog.tables(source), source)
    if not relationships or degree is None:
        return None
    return producer.estimate * degree * (access.estimate / relationships)


def _is_key(access, column: str) -> bool:
    """``column`` is the primary key of the table ``access`` scans (one row per value)."""
    table = access.table if access.kind == "scan" else None
    return table is not None and (table.option("primary_key") or "").lower() == column.lower()


def _from_queries(select: exp.Select, ctes: dict[str, int]):
    """Derived tables of this FROM clause that now run whole in SQLite, with their join;
    ``ctes``: such CTEs that the query reads once (reducing one read twice would not do)."""
    from_ = select.args.get("from_") or select.args.get("from")
    items = ([(from_.this, None)] if from_ is not None else []) + [(j.this, j) for j in select.args.get("joins") or []]
    for node, join in items:
        if "query" in node.meta:
            yield node.meta["query"], join
        elif isinstance(node, exp.Table) and not node.args.get("db") and node.name.lower() in ctes:
            yield ctes[node.name.lower()], join


def _ctes_read_once(tree: exp.Expression) -> dict[str, int]:
    """CTEs run whole in SQLite that one table reference of the query reads, by name."""
    pushed = {c.alias_or_name.lower(): c.meta["query"] for c in find_all(tree, exp.CTE) if "query" in c.meta}
    reads: dict[str, int] = {}
    for table in find_all(tree, exp.Table):
        if not table.args.get("db") and table.name.lower() in pushed:
            reads[table.name.lower()] = reads.get(table.name.lower(), 0) + 1
    return {name: pushed[name] for name, n in reads.items() if n == 1}


def _equi(part, via):
    """The binder's equality tag, each side moved to the subtree access that returns
    that leaf's column, if one does."""
    tag = part.meta.get("equi")
    if not tag:
        return None
    return tuple((*via[(leaf, column)], type_) if (leaf, column) in via else (leaf, column, type_)
                 for leaf, column, type_ in tag)


def _both_ways(tag, items, options) -> None:
    """Either side may be reduced by the other: the consumer must be a leaf of this
    FROM clause; the producer may sit inside a derived table of it (its leaf's values
    are a superset of the derived table's)."""
    if not tag:
        return
    for consumer, producer in ((tag[0], tag[1]), (tag[1], tag[0])):
        if consumer[0] in items:
            options.setdefault(consumer[0], []).append((consumer, producer))


def _worth(producer, consumer, context: Context) -> bool:
    if consumer.kind not in ("scan", "graph", "query") or producer.estimate is None or context.max_keys == 0:
        return False
    if producer.estimate > context.max_keys:
        return False
    if consumer.estimate is None:
        return producer.estimate * BENEFIT <= context.max_keys
    # strictly smaller (ties by id): two accesses never wait for each other
    return (producer.estimate * BENEFIT, producer.id) < (consumer.estimate, consumer.id)


def _same_family(a: pa.DataType | None, b: pa.DataType | None) -> bool:
    return key_family(a) is not None and key_family(a) == key_family(b)
