"""A seeded dataset written to all three stores and, identically, to one DuckDB file.

The differential tests run each FQL query through the engine and an equivalent
SQL query against ``reference.duckdb``; the two can only be compared if every
store holds exactly the same values.  So each logical table is generated once as
a pyarrow table and every store is loaded from that same table.

Layout under ``root``::

    state.db          SQLite: people, orders, cities
    graph.kuzu        Kuzu: Person, Company nodes; KNOWS, WORKS_AT rels
    lance/            LanceDB: docs (with an 8-d float32 vector column)
    reference.duckdb  schemas state / graph / knowledge with the same tables;
                      Kuzu rels as tables (_from, _to, <properties>)
"""

from __future__ import annotations

import gc
import random
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import kuzu
import lancedb
import numpy as np
import pyarrow as pa

VECTOR_DIM = 8

CITIES: list[tuple[str, str]] = [
    ("Paris", "France"),
    ("London", "United Kingdom"),
    ("Berlin", "Germany"),
    ("Zürich", "Switzerland"),
    ("São Paulo", "Brazil"),
    ("Tokyo", "Japan"),
    ("New York", "United States"),
    ("Lagos", "Nigeria"),
    ("Lima", "Peru"),
    # Nobody lives in these two, so RIGHT/FULL joins from people produce NULLs.
    ("Oslo", "Norway"),
    ("Springfield", "United States"),
]
# People's cities: the first nine above, plus one missing from `cities`.
PEOPLE_CITIES: list[str] = [name for name, _ in CITIES[:9]] + ["Atlantis"]

FIRST_NAMES = [
    "Ana", "Aiden", "Amara", "Ben", "Chloé", "Dmitri", "Elena", "Farah", "George",
    "Hana", "Ivan", "Jonas", "Kemi", "Liam", "Maya", "Noah", "Olga", "Pablo",
    "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Viktor", "Wen", "Ximena", "Yusuf",
]
LAST_NAMES = [
    "Smith", "Garcia", "Müller", "Nguyen", "Okafor", "Rossi", "Silva", "Tanaka",
    "Kowalski", "Dubois", "Jensen", "Patel", "Ivanova", "Hughes", "Moreau",
]
# Names that exercise quoting, unicode case mapping (SQLite's LOWER/UPPER are
# ASCII-only) and case-sensitive LIKE (lowercase first letters).  All of them
# are also Kuzu Person nodes so graph-side parameter tests find them.
SPECIAL_NAMES = [
    "O'Brien",
    "Siobhán O'Brien",
    "Zoë Ward",
    "Zoe Ward",
    "Émile D'Angelo",
    "Łukasz Nowak",
    'Bobby "Tables" Drop',
    "anna lee",
    "amir khan",
    "ángel ruiz",
]

COMPANIES = [
    "Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark Industries",
    "Wayne Enterprises", "Müller GmbH",
]
STATUSES = ["active", "shipped", "cancelled", "pending"]
NOTE_WORDS = ["gift", "Rush", "fragile", "leave at door", "call O'Brien first"]
TOPICS = ["graphs", "vectors", "sql", "python"]
TITLE_WORDS = [
    "Notes on", "A guide to", "Why", "Benchmarking", "O'Brien's take on",
    "Überblick:", "Deep dive:",
]

N_PEOPLE = 200
N_ORDERS = 1000
N_KNOWS = 600
N_DOCS = 300


@dataclass(frozen=True)
class VectorInfo:
    """Where the vectors live, for tests that build query vectors."""

    table: str  # FQL name, e.g. "knowledge.docs"
    column: str
    dim: int


@dataclass(frozen=True)
class Dataset:
    config: dict[str, Any]  # the argument to federation.connect, absolute paths
    reference: Path  # DuckDB file holding the same data
    vectors: VectorInfo


@dataclass(frozen=True)
class _Tables:
    """Every logical table, as the one pyarrow table all stores are loaded from."""

    people: pa.Table
    orders: pa.Table
    cities: pa.Table
    person: pa.Table
    company: pa.Table
    knows: pa.Table  # _from, _to, since, weight
    works_at: pa.Table  # _from, _to
    docs: pa.Table


def build_dataset(root: Path, seed: int = 42) -> Dataset:
    """Generate the dataset for ``seed`` and write it under ``root`` (empty or absent)."""
    root = Path(root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    tables = _generate(seed)

    state_path = root / "state.db"
    graph_path = root / "graph.kuzu"
    lance_uri = root / "lance"
    reference_path = root / "reference.duckdb"

    _write_sqlite(state_path, tables)
    _write_kuzu(graph_path, tables)
    _write_lancedb(lance_uri, tables)
    _write_reference(reference_path, tables)

    config = {
        "sources": {
            "state": {"type": "sqlite", "path": str(state_path)},
            "graph": {"type": "kuzu", "path": str(graph_path)},
            "knowledge": {"type": "lancedb", "uri": str(lance_uri)},
        }
    }
    return Dataset(
        config=config,
        reference=reference_path,
        vectors=VectorInfo(table="knowledge.docs", column="vector", dim=VECTOR_DIM),
    )


# --------------------------------------------------------------------------- data


def _generate(seed: int) -> _Tables:
    rnd = random.Random(seed)
    rng = np.random.default_rng(seed)

    def maybe_null(value: Any, p_null: float) -> Any:
        return None if rnd.random() < p_null else value

    # people ---------------------------------------------------------------
    ids = list(range(1, N_PEOPLE + 1))
    special_ids = set(rnd.sample(ids, len(SPECIAL_NAMES)))
    special_iter = iter(SPECIAL_NAMES)
    names, cities, ages, scores = [], [], [], []
    for pid in ids:
        names.append(
            next(special_iter)
            if pid in special_ids
            else f"{rnd.choice(FIRST_NAMES)} {rnd.choice(LAST_NAMES)}"
        )
        cities.append(maybe_null(rnd.choice(PEOPLE_CITIES), 0.1))
        ages.append(maybe_null(rnd.randint(18, 90), 0.1))
        # Two decimals keep values readable; REAL is still a binary double.
        scores.append(maybe_null(round(rnd.uniform(0, 100), 2), 0.1))
    people = pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "name": pa.array(names, pa.string()),
            "city": pa.array(cities, pa.string()),
            "age": pa.array(ages, pa.int64()),
            "score": pa.array(scores, pa.float64()),
        }
    )

    # orders: some person_ids point nowhere, a few are NULL (for NOT IN) ----
    order_person: list[int | None] = []
    for _ in range(N_ORDERS):
        r = rnd.random()
        if r < 0.01:
            order_person.append(None)
        elif r < 0.05:
            order_person.append(rnd.randint(N_PEOPLE + 1, N_PEOPLE + 30))
        else:
            order_person.append(rnd.choice(ids))
    notes: list[str | None] = []
    for _ in range(N_ORDERS):
        r = rnd.random()
        if r < 0.3:
            notes.append(None)
        elif r < 0.6:
            # Digit strings: TEXT compared with '50' must compare as text.
            notes.append(str(rnd.randint(1, 999)))
        else:
            notes.append(rnd.choice(NOTE_WORDS))
    orders = pa.table(
        {
            "id": pa.array(range(1, N_ORDERS + 1), pa.int64()),
            "person_id": pa.array(order_person, pa.int64()),
            "amount": pa.array(
                [round(rnd.uniform(1, 500), 2) for _ in range(N_ORDERS)], pa.float64()
            ),
            "status": pa.array(
                [maybe_null(rnd.choice(STATUSES), 0.08) for _ in range(N_ORDERS)],
                pa.string(),
            ),
            "note": pa.array(notes, pa.string()),
        }
    )

    city_table = pa.table(
        {
            "name": pa.array([c for c, _ in CITIES], pa.string()),
            "country": pa.array([k for _, k in CITIES], pa.string()),
        }
    )

    # Kuzu Person: a subset of people (same id, name, age) ----------------
    droppable = [pid for pid in ids if pid not in special_ids]
    dropped = set(rnd.sample(droppable, 20))
    person_ids = [pid for pid in ids if pid not in dropped]
    by_id = {pid: i for i, pid in enumerate(ids)}
    person = pa.table(
        {
            "id": pa.array(person_ids, pa.int64()),
            "name": pa.array([names[by_id[p]] for p in person_ids], pa.string()),
            "age": pa.array([ages[by_id[p]] for p in person_ids], pa.int64()),
        }
    )

    company = pa.table(
        {
            "id": pa.array(range(1, len(COMPANIES) + 1), pa.int64()),
            "name": pa.array(COMPANIES, pa.string()),
        }
    )

    knows = _generate_knows(rnd, person_ids)
    works_at = _generate_works_at(rnd, person_ids, company["id"].to_pylist())

    # docs: continuous vectors, so no two distances tie ---------------------
    doc_ids = list(range(1, N_DOCS + 1))
    authors = [
        rnd.randint(N_PEOPLE + 1, N_PEOPLE + 40) if rnd.random() < 0.15 else rnd.choice(ids)
        for _ in doc_ids
    ]
    vectors = rng.standard_normal((N_DOCS, VECTOR_DIM)).astype(np.float32)
    docs = pa.table(
        {
            "id": pa.array(doc_ids, pa.int64()),
            "title": pa.array(
                # every 25th title carries LIKE's special characters and a backslash
                [f"{rnd.choice(TITLE_WORDS)} {rnd.choice(TOPICS)} #{i}" + (" C:\\tmp\\a_b 50%" if i % 25 == 0 else "")
                 for i in doc_ids],
                pa.string(),
            ),
            "topic": pa.array([maybe_null(rnd.choice(TOPICS), 0.1) for _ in doc_ids], pa.string()),
            "author_id": pa.array(authors, pa.int64()),
            "vector": pa.FixedSizeListArray.from_arrays(
                pa.array(vectors.reshape(-1), pa.float32()), VECTOR_DIM
            ),
        }
    )

    return _Tables(
        people=people,
        orders=orders,
        cities=city_table,
        person=person,
        company=company,
        knows=knows,
        works_at=works_at,
        docs=docs,
    )


def _generate_knows(rnd: random.Random, person_ids: list[int]) -> pa.Table:
    """~600 directed KNOWS edges with at most one edge per unordered pair.

    One edge per pair (in either direction) keeps walk counts easy to reason
    about, also for undirected patterns.  A few directed 3-cycles and
    transitive triangles are planted so cycle and triangle queries have answers.
    """
    edges: list[tuple[int, int]] = []
    used: set[frozenset[int]] = set()

    def add(a: int, b: int) -> None:
        pair = frozenset((a, b))
        if a != b and pair not in used:
            used.add(pair)
            edges.append((a, b))

    planted = rnd.sample(person_ids, 12)
    for i in range(0, 12, 3):
        a, b, c = planted[i : i + 3]
        add(a, b)
        add(b, c)
        if i < 6:
            add(c, a)  # directed cycle a -> b -> c -> a
        else:
            add(a, c)  # transitive triangle a -> b -> c, a -> c
    while len(edges) < N_KNOWS:
        add(rnd.choice(person_ids), rnd.choice(person_ids))

    return pa.table(
        {
            "_from": pa.array([a for a, _ in edges], pa.int64()),
            "_to": pa.array([b for _, b in edges], pa.int64()),
            "since": pa.array(
                [None if rnd.random() < 0.1 else rnd.randint(1990, 2024) for _ in edges],
                pa.int64(),
            ),
            "weight": pa.array([round(rnd.random(), 3) for _ in edges], pa.float64()),
        }
    )


def _generate_works_at(
    rnd: random.Random, person_ids: list[int], company_ids: list[int]
) -> pa.Table:
    """Most people work at one company, some at none, a few at two."""
    edges: list[tuple[int, int]] = []
    for pid in person_ids:
        r = rnd.random()
        if r < 0.15:
            continue
        k = 2 if r > 0.95 else 1
        edges.extend((pid, cid) for cid in rnd.sample(company_ids, k))
    return pa.table(
        {
            "_from": pa.array([a for a, _ in edges], pa.int64()),
            "_to": pa.array([b for _, b in edges], pa.int64()),
        }
    )


# ------------------------------------------------------------------------- stores


def _write_sqlite(path: Path, t: _Tables) -> None:
    con = sqlite3.connect(path)
    try:
        con.executescript(
            """
            CREATE TABLE people(id INTEGER PRIMARY KEY, name TEXT, city TEXT,
                                age INTEGER, score REAL);
            CREATE TABLE orders(id INTEGER PRIMARY KEY, person_id INTEGER,
                                amount REAL, status TEXT, note TEXT);
            CREATE TABLE cities(name TEXT PRIMARY KEY, country TEXT);
            """
        )
        for name, table in (("people", t.people), ("orders", t.orders), ("cities", t.cities)):
            marks = ", ".join("?" * table.num_columns)
            rows = zip(*(col.to_pylist() for col in table.columns))
            con.executemany(f"INSERT INTO {name} VALUES ({marks})", rows)
        con.commit()
    finally:
        con.close()


def _write_kuzu(path: Path, t: _Tables) -> None:
    db = kuzu.Database(str(path))
    conn = kuzu.Connection(db)
    try:
        for ddl in (
            "CREATE NODE TABLE Person(id INT64 PRIMARY KEY, name STRING, age INT64)",
            "CREATE NODE TABLE Company(id INT64 PRIMARY KEY, name STRING)",
            "CREATE REL TABLE KNOWS(FROM Person TO Person, since INT64, weight DOUBLE)",
            "CREATE REL TABLE WORKS_AT(FROM Person TO Company)",
        ):
            conn.execute(ddl)
        # COPY ... FROM <name> scans the Python variable of that name in this
        # frame (Kuzu's replacement scan); rel tables take (from, to, props...)
        # by position.
        person, company, knows, works_at = t.person, t.company, t.knows, t.works_at
        conn.execute("COPY Person FROM person")
        conn.execute("COPY Company FROM company")
        conn.execute("COPY KNOWS FROM knows")
        conn.execute("COPY WORKS_AT FROM works_at")
    finally:
        # The engine opens the database afterwards, possibly read-only: nothing
        # of ours may still hold it.
        conn.close()
        db.close()
        del conn, db
        gc.collect()


def _write_lancedb(uri: Path, t: _Tables) -> None:
    db = lancedb.connect(str(uri))
    db.create_table("docs", data=t.docs)


def _write_reference(path: Path, t: _Tables) -> None:
    ddl = """
        CREATE SCHEMA state;
        CREATE SCHEMA graph;
        CREATE SCHEMA knowledge;
        CREATE TABLE state.people(id BIGINT PRIMARY KEY, name VARCHAR, city VARCHAR,
                                  age BIGINT, score DOUBLE);
        CREATE TABLE state.orders(id BIGINT PRIMARY KEY, person_id BIGINT,
                                  amount DOUBLE, status VARCHAR, note VARCHAR);
        CREATE TABLE state.cities(name VARCHAR PRIMARY KEY, country VARCHAR);
        CREATE TABLE graph.Person(id BIGINT PRIMARY KEY, name VARCHAR, age BIGINT);
        CREATE TABLE graph.Company(id BIGINT PRIMARY KEY, name VARCHAR);
        CREATE TABLE graph.KNOWS(_from BIGINT, _to BIGINT, since BIGINT, weight DOUBLE);
        CREATE TABLE graph.WORKS_AT(_from BIGINT, _to BIGINT);
        CREATE TABLE knowledge.docs(id BIGINT, title VARCHAR, topic VARCHAR,
                                    author_id BIGINT, vector FLOAT[8]);
    """
    loads = {
        "state.people": t.people,
        "state.orders": t.orders,
        "state.cities": t.cities,
        "graph.Person": t.person,
        "graph.Company": t.company,
        "graph.KNOWS": t.knows,
        "graph.WORKS_AT": t.works_at,
        "knowledge.docs": t.docs,
    }
    con = duckdb.connect(str(path))
    try:
        con.execute(ddl)
        for name, table in loads.items():
            con.register("incoming", table)
            con.execute(f"INSERT INTO {name} SELECT * FROM incoming")
            con.unregister("incoming")
    finally:
        con.close()
