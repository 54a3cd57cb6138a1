"""The type matrix: each type a source stores, through each path a value takes.

Real SQLite, Kuzu and LanceDB files are written to a temporary folder with every
type the sources offer and their extremes: INT128 and INT64 bounds, NaN and
infinities, empty strings, NULL in every column, dates before 1970 and after 2262,
timestamps with time zones, intervals with months, days and microseconds, UUIDs,
nested STRUCT / LIST / MAP with NULLs at every level; SQLite columns of every
affinity, with values of the wrong storage class and beyond int64; LanceDB vectors
of float16, float32 and float64. Each column is then read through each path:

- ``scan``: ``SELECT id, c FROM src.t`` (for SQLite the pass-through path: the whole
  query runs in SQLite);
- ``graph`` (Kuzu): ``GRAPH_TABLE (... COLUMNS (n.c AS c))``;
- ``search`` (LanceDB): ``VECTOR_SEARCH`` over every row;
- ``join``: the same table through a second source over the same files, joined and
  compared with itself in DuckDB (``=``, or both NULL);
- ``where``: ``c IS NULL`` and ``c = $value`` on the table, on the GRAPH_TABLE
  (Kuzu), as the VECTOR_SEARCH prefilter (LanceDB) and on one side of the DuckDB
  join: the planner pushes each into the source where the source evaluates it
  exactly as DuckDB would.

Every path must return what the store's own Python driver returns for the column,
compared as docs/types.md documents the mapping (a UUID as its text, a MAP as
(key, value) pairs, NaN equal to NaN), or raise the documented typed error naming
the column. Where the driver itself is not exact (Kuzu returns an INTERVAL with a
month as 30 days) the exact value is written here.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import sqlite3
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import kuzu
import lancedb
import numpy as np
import pyarrow as pa
import pytest

import federation
from federation import ColumnTypeError, FederationError, UnsupportedError

I64_MIN, I64_MAX = -(2**63), 2**63 - 1
I128_MIN, I128_MAX = -(2**127), 2**127 - 1
UTC = dt.timezone.utc


@dataclass(frozen=True)
class Col:
    source: str  # "sqlite" | "kuzu" | "lance"
    table: str
    name: str
    error: type[FederationError] | None = None  # what every path raises, naming the column
    exact: dict[int, Any] | None = None  # id -> the exact value, where the native driver is not exact
    value: bool = True  # whether ``c = $value`` is tried (not for lists, structs, maps, intervals)
    paths: tuple[str, ...] = ()  # a subset of the source's paths, when not all apply

    @property
    def id(self) -> str:
        return f"{self.source}.{self.table}.{self.name}"


# ---------------------------------------------------------------- SQLite

SQLITE_SCHEMA = """
CREATE TABLE typed (
    id INTEGER PRIMARY KEY, i INTEGER, bi BIGINT, ti TINYINT, r REAL, dbl DOUBLE PRECISION, fl FLOAT,
    t TEXT, vc VARCHAR(20), cl CLOB, b BLOB, big_text TEXT, bo BOOLEAN
);
CREATE TABLE untyped (
    id INTEGER PRIMARY KEY, n NUMERIC, dec DECIMAL(10, 2), dt DATE, dtt DATETIME,
    nt, nt_text, nt_blob, nt_null
);
CREATE TABLE mixed (
    id INTEGER PRIMARY KEY, int_text INTEGER, int_real INTEGER, int_big INTEGER, int_blob INTEGER,
    real_text REAL, real_blob REAL, text_blob TEXT, text_not_utf8 TEXT, blob_int BLOB, blob_text BLOB
);
CREATE TABLE mixed_untyped (id INTEGER PRIMARY KEY, num_text NUMERIC, nt_mix, nt_big);
CREATE TABLE long (id INTEGER PRIMARY KEY, late_text TEXT, late_bad INTEGER, late_real, late_blob BLOB);
CREATE VIEW typed_view AS SELECT id, i, t, i + 0.5 AS computed FROM typed;
"""

SQLITE_ROWS = {
    "typed": [
        (1, I64_MIN, I64_MAX, -128, math.inf, 5e-324, 1.1, "", "ünïcødé ✓", "it's", b"", "9223372036854775808",
         1),
        (2, I64_MAX, 0, 127, -0.0, -1.7976931348623157e308, -math.inf, "tab\there", "", "x" * 500,
         b"\x00\xff", "-99999999999999999999", 0),
        (3, None, None, None, None, None, None, None, None, None, None, None, None),
        (4, 0, -1, 0, math.nan, 2.5, 0.0, "NULL", "'", "🙂", bytes(range(256)), "1e400", None),
    ],
    "untyped": [
        (1, 1, 1.5, "1900-01-01", "1969-12-31 23:59:59.999999+05:00", 1, "a", b"x", None),
        (2, I64_MIN, 2, "2300-12-31", "2262-04-12 00:00:00", 2.5, "", b"", None),
        (3, None, None, None, None, None, None, None, None),
    ],
    "mixed": [
        (1, 1, 2, 3, 4, 1.5, 2.5, "a", "ok", b"x", b"y"),
        (2, "abc", 1.5, "9223372036854775808", b"\x00", "xyz", b"\x01", b"\xff", None, 5, "text"),
        (3, None, None, None, None, None, None, None, None, None, None),
    ],
    "mixed_untyped": [
        (1, 1, 1, 1.5),
        (2, "abc", "a", 2**60),
        (3, None, b"b", None),
    ],
}


def _long_rows() -> list[tuple]:
    # ADBC infers a column's type from its first 1024 rows: text after 1100 NULLs,
    # a string after 1500 integers, reals after 1100 integers, blobs after NULLs.
    rows = []
    for i in range(1, 2001):
        rows.append((
            i,
            None if i <= 1100 else f"text {i}",
            "abc" if i == 1500 else i,
            i if i <= 1100 else i + 0.5,
            None if i <= 1100 else bytes([i % 256]),
        ))
    return rows


def _write_sqlite(path) -> None:
    con = sqlite3.connect(path)
    con.executescript(SQLITE_SCHEMA)
    for table, rows in SQLITE_ROWS.items():
        marks = ", ".join("?" * len(rows[0]))
        con.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
    con.executemany("INSERT INTO long VALUES (?, ?, ?, ?, ?)", _long_rows())
    # Text that is not UTF-8: SQLite stores it as TEXT without checking.
    con.execute("UPDATE mixed SET text_not_utf8 = CAST(x'ff41' AS TEXT) WHERE id = 2")
    con.commit()
    con.close()


SQLITE_COLUMNS = [
    *(Col("sqlite", "typed", c) for c in ("i", "bi", "ti", "r", "dbl", "fl", "t", "vc", "cl", "b", "big_text", "bo")),
    *(Col("sqlite", "untyped", c) for c in ("n", "dec", "dt", "dtt", "nt", "nt_text", "nt_blob", "nt_null")),
    *(Col("sqlite", "typed_view", c) for c in ("i", "t", "computed")),
    *(Col("sqlite", "mixed", c, ColumnTypeError)
      for c in ("int_text", "int_real", "int_big", "int_blob", "real_text", "real_blob", "text_blob", "blob_int",
                "blob_text")),
    # Text that is not UTF-8 is found when it is read, not when SQLite only compares it.
    Col("sqlite", "mixed", "text_not_utf8", ColumnTypeError, paths=("scan", "join")),
    *(Col("sqlite", "mixed_untyped", c, ColumnTypeError) for c in ("num_text", "nt_mix", "nt_big")),
    Col("sqlite", "long", "late_text"),
    Col("sqlite", "long", "late_bad", ColumnTypeError),
    Col("sqlite", "long", "late_real"),
    Col("sqlite", "long", "late_blob"),
]

# ---------------------------------------------------------------- Kuzu

KUZU_SCHEMA = {
    "i64": "INT64", "i32": "INT32", "i16": "INT16", "i8": "INT8", "u64": "UINT64", "u8": "UINT8",
    "i128": "INT128", "dbl": "DOUBLE", "flt": "FLOAT", "dec": "DECIMAL(38, 10)", "str": "STRING",
    "blb": "BLOB", "bool": "BOOL", "uid": "UUID", "dt": "DATE", "ts": "TIMESTAMP", "tstz": "TIMESTAMP_TZ",
    "tsns": "TIMESTAMP_NS", "tsms": "TIMESTAMP_MS", "tssec": "TIMESTAMP_SEC", "iv": "INTERVAL",
    "st": "STRUCT(a INT64, b STRING)", "nest": "STRUCT(inner STRUCT(v INT64), l INT64[], u UUID)",
    "lst": "INT64[]", "lstr": "STRING[]", "lst128": "INT128[]", "lstst": "STRUCT(x INT64)[]",
    "arr": "INT64[3]", "mp": "MAP(STRING, INT64)", "mpst": "MAP(STRING, STRUCT(q INT64))",
    "liv": "INTERVAL[]",
}


def _c(text: str, kuzu_type: str) -> str:
    return f"CAST('{text}' AS {kuzu_type})"


# Row id -> property -> Cypher expression ($name: a parameter of the same name).
KUZU_ROWS: dict[int, dict[str, str]] = {
    1: {
        "i64": _c(str(I64_MIN), "INT64"), "i32": _c(str(-(2**31)), "INT32"), "i16": _c("-32768", "INT16"),
        "i8": _c("-128", "INT8"), "u64": _c(str(2**64 - 1), "UINT64"), "u8": _c("255", "UINT8"),
        "i128": _c(str(I128_MAX), "INT128"), "dbl": "$nan", "flt": "$flt",
        "dec": _c("9999999999999999999999999999.9999999999", "DECIMAL(38, 10)"),
        "str": "''", "blb": "BLOB('\\\\x00\\\\xFF')", "bool": "true",
        "uid": _c("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "UUID"), "dt": "date('1900-01-01')",
        "ts": "timestamp('1900-01-01 00:00:00.000001')", "tstz": _c("2300-01-01 00:00:00+05:00", "TIMESTAMP_TZ"),
        "tsns": _c("2000-01-01 00:00:00.123456", "TIMESTAMP_NS"), "tsms": _c("1960-06-01 12:00:00.123", "TIMESTAMP_MS"),
        "tssec": _c("1800-01-01 00:00:01", "TIMESTAMP_SEC"), "iv": "interval('1 year 2 months 3 days 4 microseconds')",
        "st": "{a: CAST(NULL AS INT64), b: 'x'}",
        "nest": "{inner: {v: 7}, l: [1, NULL], u: " + _c("00000000-0000-0000-0000-000000000000", "UUID") + "}",
        "lst": "[1, NULL, 3]", "lstr": "['', NULL, 'b']", "lst128": f"[{_c(str(I128_MIN), 'INT128')}, NULL]",
        "lstst": "[{x: 1}, NULL, {x: 3}]", "arr": "[1, 2, 3]", "mp": "map(['a', 'b'], [1, NULL])",
        "mpst": "map(['k1', 'k2'], [{q: 1}, NULL])", "liv": "[interval('1 month')]",
    },
    2: {
        "i64": _c(str(I64_MAX), "INT64"), "i32": _c(str(2**31 - 1), "INT32"), "i16": _c("32767", "INT16"),
        "i8": _c("127", "INT8"), "u64": _c("0", "UINT64"), "u8": _c("0", "UINT8"),
        "i128": _c(str(I128_MIN), "INT128"), "dbl": "$inf", "flt": "$ninf",
        "dec": _c("-0.0000000001", "DECIMAL(38, 10)"),
        "str": "'ünïcødé ✓ \\'quoted\\''", "blb": "BLOB('')", "bool": "false",
        "uid": _c("ffffffff-ffff-ffff-ffff-ffffffffffff", "UUID"), "dt": "date('2263-01-01')",
        "ts": "timestamp('2263-01-01 00:00:00')", "tstz": _c("1900-06-01 12:00:00-08:00", "TIMESTAMP_TZ"),
        "tsns": _c("1970-01-01 00:00:00", "TIMESTAMP_NS"), "tsms": _c("2300-01-01", "TIMESTAMP_MS"),
        "tssec": _c("2500-01-01", "TIMESTAMP_SEC"),
        "iv": "timestamp('2000-01-01 00:00:00') - timestamp('2001-03-05 13:14:15.123456')",
        "st": "{a: 1, b: CAST(NULL AS STRING)}",
        "nest": "{inner: CAST(NULL AS STRUCT(v INT64)), l: CAST(NULL AS INT64[]), u: CAST(NULL AS UUID)}",
        "lst": "CAST([] AS INT64[])", "lstr": "CAST([] AS STRING[])", "lst128": f"[{_c(str(10**38), 'INT128')}]",
        "lstst": "[NULL, {x: 5}]", "arr": "[-1, 0, 1]", "mp": "map(CAST([] AS STRING[]), CAST([] AS INT64[]))",
        "mpst": "map(['k'], [{q: CAST(NULL AS INT64)}])", "liv": "CAST([] AS INTERVAL[])",
    },
    3: {},  # NULL in every column
    4: {
        "i64": "0", "i128": _c(str(10**38), "INT128"), "dbl": "$neg_zero", "flt": "$flt_max",
        "dec": _c("0", "DECIMAL(38, 10)"), "str": "'NULL'", "dt": "date('1969-12-31')",
        "ts": "timestamp('1969-12-31 23:59:59.999999')", "tstz": _c("1970-01-01 00:00:00+00:00", "TIMESTAMP_TZ"),
        "iv": "interval('27 hours 3 minutes 59.999999 seconds')",
        "nest": "{inner: {v: CAST(NULL AS INT64)}, l: CAST([] AS INT64[]), u: CAST(NULL AS UUID)}",
        "lstst": "CAST([] AS STRUCT(x INT64)[])",
    },
    5: {"dbl": "$ninf", "flt": "$nan", "i128": _c("-5", "INT128"), "iv": "interval('0 days')"},
}
KUZU_PARAMS = {"nan": math.nan, "inf": math.inf, "ninf": -math.inf, "neg_zero": -0.0,
               "flt": float(np.float32(1.1)), "flt_max": float(np.finfo(np.float32).max)}


def _mdn(months: int, days: int, micros: int) -> pa.MonthDayNano:
    return pa.MonthDayNano([months, days, micros * 1000])


KUZU_INTERVALS = {
    1: _mdn(14, 3, 4),
    2: _mdn(0, -429, -(13 * 3600 + 14 * 60 + 15) * 1_000_000 - 123456),
    3: None,
    4: _mdn(0, 0, (27 * 3600 + 3 * 60 + 59) * 1_000_000 + 999999),
    5: _mdn(0, 0, 0),
}

# Kuzu's Python driver cannot read a negative DECIMAL above -1 (it formats -1e-10 as
# '0.00000000-1'); its Arrow export, which the engine reads, is right.
KUZU_DECIMALS = {1: Decimal("9999999999999999999999999999.9999999999"), 2: Decimal("-0.0000000001"), 3: None,
                 4: Decimal(0), 5: None}
KUZU_EXACT = {"iv": KUZU_INTERVALS, "dec": KUZU_DECIMALS}

_NOT_SCALAR = ("st", "nest", "lst", "lstr", "lst128", "lstst", "arr", "mp", "mpst", "iv")
KUZU_COLUMNS = [
    *(Col("kuzu", "KT", c, value=c not in _NOT_SCALAR, exact=KUZU_EXACT.get(c)) for c in KUZU_SCHEMA if c != "liv"),
    Col("kuzu", "KT", "liv", UnsupportedError),
    *(Col("kuzu", "KR", c, value=c not in _NOT_SCALAR, exact=KUZU_EXACT.get(c))
      for c in ("i128", "uid", "iv", "st", "mp", "dbl")),
]


def _params_of(statement: str) -> dict[str, float]:
    used = set(re.findall(r"\$(\w+)", statement))
    return {k: v for k, v in KUZU_PARAMS.items() if k in used}


def _write_kuzu(path) -> None:
    db = kuzu.Database(str(path))
    con = kuzu.Connection(db)
    columns = ", ".join(f"{name} {kuzu_type}" for name, kuzu_type in KUZU_SCHEMA.items())
    con.execute(f"CREATE NODE TABLE KT(id INT64, {columns}, PRIMARY KEY(id))")
    rel = [c for c in KUZU_COLUMNS if c.table == "KR"]
    con.execute(f"CREATE REL TABLE KR(FROM KT TO KT, {', '.join(f'{c.name} {KUZU_SCHEMA[c.name]}' for c in rel)})")
    for row_id, values in KUZU_ROWS.items():
        props = {k: v for k, v in values.items() if k in KUZU_SCHEMA}
        text = ", ".join([f"id: {row_id}"] + [f"{k}: {v}" for k, v in props.items()])
        statement = f"CREATE (:KT {{{text}}})"
        con.execute(statement, _params_of(statement))
    for row_id, values in KUZU_ROWS.items():
        props = {c.name: values[c.name] for c in rel if c.name in values}
        text = " {" + ", ".join(f"{k}: {v}" for k, v in props.items()) + "}" if props else ""
        statement = f"MATCH (a:KT {{id: {row_id}}}) CREATE (a)-[:KR{text}]->(a)"
        con.execute(statement, _params_of(statement))
    con.close()
    db.close()


# ---------------------------------------------------------------- LanceDB

LANCE_ROWS = 5


def _lance_tables() -> dict[str, pa.Table]:
    ids = pa.array(range(1, LANCE_ROWS + 1), type=pa.int64())
    tables = {}
    for name, dtype in (("vec16", np.float16), ("vec32", np.float32), ("vec64", np.float64)):
        values = (np.arange(LANCE_ROWS * 4) / 7 - 1).astype(dtype)
        values[3] = np.finfo(dtype).max
        values[4] = np.finfo(dtype).tiny
        vectors = pa.FixedSizeListArray.from_arrays(pa.array(values), 4)
        tables[name] = pa.table({"id": ids, "v": vectors})
    tables["vec16"] = tables["vec16"].append_column(
        "h", pa.array(np.array([0.1, 65504, -0.0, np.nan, 6e-8], dtype=np.float16)))
    scalars = {
        "f64": pa.array([math.nan, math.inf, -0.0, None, 5e-324]),
        "f32": pa.array(np.array([1.1, -np.inf, np.nan, 3.4e38, 0], dtype=np.float32)),
        "i64": pa.array([I64_MIN, I64_MAX, 0, None, -1], type=pa.int64()),
        "s": pa.array(["", "ünïcødé ✓", None, "it's", "NULL"]),
        "bin": pa.array([b"", b"\x00\xff", None, b"x", b"y"]),
        "d": pa.array([dt.date(1900, 1, 1), dt.date(2263, 1, 1), None, dt.date(1969, 12, 31), dt.date(9999, 12, 31)]),
        "tstz": pa.array([dt.datetime(1900, 1, 1, tzinfo=UTC), dt.datetime(2300, 1, 1, 5, tzinfo=UTC), None,
                          dt.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
                          dt.datetime(1970, 1, 1, tzinfo=UTC)], type=pa.timestamp("us", tz="UTC")),
        "lst": pa.array([[1, None], [], None, [I64_MAX], [None]], type=pa.list_(pa.int64())),
        "st": pa.array([{"a": None, "b": "x"}, None, {"a": 1, "b": None}, {"a": None, "b": None}, {"a": 2, "b": ""}],
                       type=pa.struct([("a", pa.int64()), ("b", pa.string())])),
        "dec": pa.array([Decimal(10**36), Decimal("-1.5"), None, Decimal(0), Decimal("0.1")],
                        type=pa.decimal128(38, 1)),
        "dur_ns": pa.array([1000, None, 0, -5000, 1], type=pa.duration("ns")),  # 1 ns: below DuckDB's micros
    }
    for name, array in scalars.items():
        tables["vec64"] = tables["vec64"].append_column(name, array)
    return tables


LANCE_COLUMNS = [
    *(Col("lance", t, "v", value=False) for t in ("vec16", "vec32", "vec64")),
    Col("lance", "vec16", "h"),
    *(Col("lance", "vec64", c, value=c not in ("lst", "st"))
      for c in ("f64", "f32", "i64", "s", "d", "tstz", "lst", "st", "dec")),
    # LanceDB's filters take no binary literal: a prefilter on it is refused (ParameterError).
    Col("lance", "vec64", "bin", value=False),
    # A value DuckDB cannot hold raises when it is read; a filter LanceDB evaluates
    # over the stored nanoseconds is exact, so only the round trip is checked.
    Col("lance", "vec64", "dur_ns", ColumnTypeError, value=False, paths=("scan", "search", "join")),
]


def _write_lance(uri) -> None:
    db = lancedb.connect(str(uri))
    for name, table in _lance_tables().items():
        db.create_table(name, table)


# ---------------------------------------------------------------- fixtures


@dataclass
class Stores:
    fed: Any
    native: dict[str, dict[int, Any]] = field(default_factory=dict)  # column id -> row id -> value
    kuzu_db: Any = None


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("types")
    _write_sqlite(root / "types.db")
    _write_kuzu(root / "graph.kuzu")
    _write_lance(root / "lance")
    graph = kuzu.Database(str(root / "graph.kuzu"), read_only=True)
    sources = {
        "lite": {"type": "sqlite", "path": str(root / "types.db")},
        "lite2": {"type": "sqlite", "path": str(root / "types.db")},
        "graph": {"type": "kuzu", "database": graph},
        "graph2": {"type": "kuzu", "database": graph},
        "lance": {"type": "lancedb", "uri": str(root / "lance")},
        "lance2": {"type": "lancedb", "uri": str(root / "lance")},
    }
    fed = federation.connect({"sources": sources})
    found = Stores(fed, kuzu_db=graph)
    found.native.update(_native_sqlite(root / "types.db"))
    found.native.update(_native_kuzu(graph))
    found.native.update(_native_lance(root / "lance"))
    try:
        yield found
    finally:
        fed.close()
        graph.close()


def _native_sqlite(path) -> dict[str, dict[int, Any]]:
    con = sqlite3.connect(path)
    con.text_factory = bytes  # text that is not UTF-8 must not stop the others from reading
    found = {}
    for col in SQLITE_COLUMNS:
        rows = con.execute(f'SELECT id, "{col.name}", typeof("{col.name}") FROM "{col.table}"').fetchall()
        found[col.id] = {i: v.decode() if kind == b"text" and not col.error else v for i, v, kind in rows}
    con.close()
    return found


def _native_kuzu(db) -> dict[str, dict[int, Any]]:
    con = kuzu.Connection(db)
    found = {}
    for col in KUZU_COLUMNS:
        if col.error or col.exact is not None:
            continue
        if col.table == "KT":
            query = f"MATCH (n:KT) RETURN n.id, n.{col.name}"
        else:
            query = f"MATCH (a:KT)-[r:KR]->(:KT) RETURN a.id, r.{col.name}"
        found[col.id] = dict(con.execute(query).get_all())
    con.close()
    return found


def _native_lance(uri) -> dict[str, dict[int, Any]]:
    db = lancedb.connect(str(uri))
    found = {}
    for col in LANCE_COLUMNS:
        rows = db.open_table(col.table).to_arrow().select(["id", col.name]).to_pylist()
        found[col.id] = {row["id"]: row[col.name] for row in rows}
    return found


# ---------------------------------------------------------------- comparing values


def plain(value: Any) -> Any:
    """A value as docs/types.md promises it in Python, comparable with ``==``:
    a UUID as its text, a MAP (dict from a driver, (key, value) pairs from Arrow) and
    a STRUCT as (key, value) pairs, NaN as a marker (NaN == NaN is false)."""
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return [(k, plain(v)) for k, v in value.items()]
    if isinstance(value, tuple):
        return tuple(plain(v) for v in value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, pa.MonthDayNano):
        return ("interval", value.months, value.days, value.nanoseconds)
    return value


def expected_values(stores: Stores, col: Col) -> dict[int, Any]:
    if col.exact is not None:
        return {i: plain(v) for i, v in col.exact.items()}
    return {i: plain(v) for i, v in stores.native[col.id].items()}


def assert_rows(rows: list[tuple], expected: dict[int, Any], col: Col) -> None:
    got = {row[0]: plain(row[1]) for row in rows}
    assert len(rows) == len(got), f"{col.id}: an id came back twice: {rows}"
    assert got == expected, f"{col.id}: values changed\n  got:      {got}\n  expected: {expected}"


def assert_names_column(exc: FederationError, col: Col) -> None:
    assert col.name in str(exc), f"{col.id}: the error does not name the column: {exc}"
    if isinstance(exc, ColumnTypeError):
        assert exc.column in (col.name, "c"), exc


# ---------------------------------------------------------------- paths

# Each path: the query (columns: id, c) and, for filters, which rows it keeps.


def _ref(col: Col, source: str | None = None) -> str:
    source = source or {"sqlite": "lite", "kuzu": "graph", "lance": "lance"}[col.source]
    return f"{source}.{col.table}"


def _id(col: Col) -> str:
    return "_from" if col.table == "KR" else "id"


def scan_query(col: Col, where: str = "") -> str:
    return f"SELECT {_id(col)} AS id, {col.name} AS c FROM {_ref(col)}{where.replace('c ', f'{col.name} ')}"


def graph_query(col: Col, where: str = "") -> str:
    pattern = "(n:KT)" if col.table == "KT" else "(n:KT)-[r:KR]->(:KT)"
    owner = "n" if col.table == "KT" else "r"
    return (f"SELECT g.id, g.c FROM GRAPH_TABLE (graph MATCH {pattern}{where.replace('c ', f'{owner}.{col.name} ')}"
            f" COLUMNS (n.id AS id, {owner}.{col.name} AS c)) AS g")


def search_query(col: Col, where: str = "") -> str:
    inner = f"SELECT * FROM {_ref(col)}{where.replace('c ', f'{col.name} ')}"
    return (f"SELECT id, {col.name} AS c FROM VECTOR_SEARCH(({inner}), [0.0, 0.0, 0.0, 0.0],"
            f" top_k => {LANCE_ROWS})")


def join_query(col: Col, where: str = "") -> str:
    second = {"sqlite": "lite2", "kuzu": "graph2", "lance": "lance2"}[col.source]
    key, c = _id(col), col.name
    return (f"SELECT a.{key} AS id, a.{c} AS c FROM {_ref(col)} AS a JOIN {_ref(col, second)} AS b"
            f" ON a.{key} = b.{key} WHERE (a.{c} = b.{c} OR a.{c} IS NULL AND b.{c} IS NULL)"
            + where.replace(" WHERE c ", f" AND a.{c} "))


PATHS = {
    "sqlite": {"scan": scan_query, "join": join_query},
    "kuzu": {"scan": scan_query, "graph": graph_query, "join": join_query},
    "lance": {"scan": scan_query, "search": search_query, "join": join_query},
}

MATRIX = [(col, path) for col in SQLITE_COLUMNS + KUZU_COLUMNS + LANCE_COLUMNS
          for path in PATHS[col.source] if not col.paths or path in col.paths]


def _value_param(col: Col, values: dict[int, Any]) -> Any:
    """A stored value to filter on, as a query parameter."""
    for row_id in sorted(values):
        value = values[row_id]
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        if isinstance(value, uuid.UUID):
            return str(value)
        if isinstance(value, Decimal) and value == value.to_integral_value() and col.source == "kuzu":
            return int(value)  # INT128: an integer beyond int64 is a HUGEINT parameter
        if hasattr(value, "to_pydatetime"):
            return value.to_pydatetime()
        return value
    return None


@pytest.mark.parametrize("col,path", MATRIX, ids=[f"{c.id}-{p}" for c, p in MATRIX])
def test_round_trip(stores: Stores, col: Col, path: str) -> None:
    query = PATHS[col.source][path](col)
    if col.error is not None:
        with pytest.raises(col.error) as info:
            stores.fed.query(query)
        assert_names_column(info.value, col)
        return
    assert_rows(stores.fed.query(query).fetchall(), expected_values(stores, col), col)


FILTER_PATHS = {
    "sqlite": {"scan": scan_query, "join": join_query},
    "kuzu": {"scan": scan_query, "graph": graph_query, "join": join_query},
    "lance": {"scan": scan_query, "search": search_query, "join": join_query},
}
FILTER_MATRIX = [(col, path) for col in SQLITE_COLUMNS + KUZU_COLUMNS + LANCE_COLUMNS
                 for path in FILTER_PATHS[col.source] if not col.paths]


@pytest.mark.parametrize("col,path", FILTER_MATRIX, ids=[f"{c.id}-{p}" for c, p in FILTER_MATRIX])
def test_filtered(stores: Stores, col: Col, path: str) -> None:
    """``c IS NULL`` and ``c = $value``, pushed into the source where it is exact."""
    build = FILTER_PATHS[col.source][path]
    if col.error is not None:
        with pytest.raises(col.error) as info:
            stores.fed.query(build(col, " WHERE c IS NULL"))
        assert_names_column(info.value, col)
        return
    expected = expected_values(stores, col)
    nulls = stores.fed.query(build(col, " WHERE c IS NULL")).fetchall()
    assert_rows(nulls, {i: v for i, v in expected.items() if v is None}, col)
    if not col.value:
        return
    value = _value_param(col, col.exact if col.exact is not None else stores.native[col.id])
    if value is None:
        return
    rows = stores.fed.query(build(col, " WHERE c = $value"), {"value": value}).fetchall()
    assert_rows(rows, {i: v for i, v in expected.items() if v == plain(value) or
                       (isinstance(value, float) and v == value)}, col)


# ---------------------------------------------------------------- specific promises


def test_sqlite_error_names_table_column_row_and_value(stores: Stores) -> None:
    with pytest.raises(ColumnTypeError) as info:
        stores.fed.query("SELECT id, int_text FROM lite.mixed")
    error = info.value
    assert (error.source, error.table, error.column, error.row, error.value) == ("lite", "mixed", "int_text", 2, "abc")
    assert "declared INTEGER" in str(error) and "TEXT value 'abc'" in str(error)
    assert "correct the data" in str(error) and "docs/types.md" in str(error)


def test_sqlite_error_for_a_value_after_the_first_rows_names_its_row(stores: Stores) -> None:
    with pytest.raises(ColumnTypeError) as info:
        stores.fed.query("SELECT s.id, s.late_bad FROM lite.long s JOIN lite2.long t ON t.id = s.id")
    assert (info.value.row, info.value.value) == (1500, "abc")


def test_sqlite_int64_beyond_range_is_never_truncated(stores: Stores) -> None:
    # '9223372036854775808' in an INTEGER column is stored as the REAL 9.223372036854776e18
    with pytest.raises(ColumnTypeError, match="REAL value 9.223372036854776e"):
        stores.fed.query("SELECT int_big FROM lite.mixed")
    assert stores.fed.query("SELECT big_text FROM lite.typed WHERE id = 1").fetchall() == [("9223372036854775808",)]


def test_sqlite_pass_through_and_scan_paths_both_run(stores: Stores) -> None:
    """The matrix's SQLite scan is the pass-through path, its join the ADBC scan."""
    assert stores.fed.plan("SELECT id AS id, i AS c FROM lite.typed").sql is None
    assert stores.fed.plan(join_query(Col("sqlite", "typed", "i"))).sql is not None


def test_sqlite_undeclared_column_reads_as_its_values_type(stores: Stores) -> None:
    schema = stores.fed.query("SELECT n, dec, dt, nt, nt_text, nt_blob FROM lite.untyped").schema
    assert [f.type for f in schema] == [pa.int64(), pa.float64(), pa.string(), pa.float64(), pa.string(), pa.binary()]


def test_sqlite_check_follows_the_data_version(tmp_path) -> None:
    path = tmp_path / "fix.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER)")
    con.executemany("INSERT INTO t VALUES (?, ?)", [(1, 1), (2, "two")])
    con.commit()
    with federation.connect({"sources": {"s": {"type": "sqlite", "path": str(path)}}}) as fed:
        with pytest.raises(ColumnTypeError, match="'two'"):
            fed.query("SELECT SUM(n) FROM s.t")
        con.execute("UPDATE t SET n = 2 WHERE id = 2")
        con.commit()
        assert fed.query("SELECT SUM(n) AS total FROM s.t").fetchall() == [(3,)]
    con.close()


def test_kuzu_uint64_join_beyond_int64(stores: Stores) -> None:
    # a semi-join would bind the key 2^64 - 1, which Kuzu's Python API cannot take
    rows = stores.fed.query("SELECT a.id, b.id FROM graph.KT a JOIN graph2.KT b ON a.u64 = b.u64 WHERE a.id = 1")
    assert rows.fetchall() == [(1, 1)]


def test_kuzu_types_in_describe(stores: Stores) -> None:
    described = {row[0]: row[1] for row in stores.fed.query("DESCRIBE graph.KT").fetchall()}
    assert described["iv"] == "month_day_nano_interval"
    assert described["uid"] == "extension<arrow.uuid>"
    assert "hugeint" in described["i128"]
    assert described["tstz"] == "timestamp[us, tz=UTC]"
    assert described["mpst"] == "map<string, struct<q: int64>>"


def test_kuzu_int128_beyond_decimal38_compares_exactly(stores: Stores) -> None:
    rows = stores.fed.query(
        "SELECT g.id FROM GRAPH_TABLE (graph MATCH (n:KT) WHERE n.i128 > $v COLUMNS (n.id AS id)) AS g",
        {"v": 10**38 - 1}).fetchall()
    assert sorted(rows) == [(1,), (4,)]


def test_kuzu_float_comparisons_follow_duckdb(stores: Stores) -> None:
    # A FLOAT equals the literal it was written as (DuckDB casts the literal to FLOAT),
    # and NaN is above every number (Kuzu's own comparison says neither).
    rows = stores.fed.query("SELECT g.id FROM GRAPH_TABLE (graph MATCH (n:KT) WHERE n.flt = 1.1"
                            " COLUMNS (n.id AS id)) AS g").fetchall()
    assert rows == [(1,)]
    rows = stores.fed.query("SELECT g.id FROM GRAPH_TABLE (graph MATCH (n:KT) WHERE n.dbl > 1e308"
                            " COLUMNS (n.id AS id)) AS g").fetchall()
    assert sorted(rows) == [(1,), (2,)]


def test_lance_float16_prefilter_refuses_a_value_float16_cannot_hold(stores: Stores) -> None:
    with pytest.raises(UnsupportedError, match="float16 column `h`"):
        stores.fed.query("SELECT id FROM VECTOR_SEARCH((SELECT * FROM lance.vec16 WHERE h = $h),"
                         " [0.0, 0.0, 0.0, 0.0], top_k => 5)", {"h": 0.1})
    rows = stores.fed.query("SELECT id FROM VECTOR_SEARCH((SELECT * FROM lance.vec16 WHERE h = $h),"
                            " [0.0, 0.0, 0.0, 0.0], top_k => 5)", {"h": float(np.float16(0.1))}).fetchall()
    assert rows == [(1,)]


def test_lance_decimal_prefilter_is_exact_or_refused(stores: Stores) -> None:
    query = ("SELECT id FROM VECTOR_SEARCH((SELECT * FROM lance.vec64 WHERE dec = $d), [0.0, 0.0, 0.0, 0.0],"
             " top_k => 5)")
    assert stores.fed.query(query, {"d": Decimal(10**36)}).fetchall() == [(1,)]
    assert stores.fed.query(query, {"d": -1.5}).fetchall() == [(2,)]
    with pytest.raises(UnsupportedError, match="DECIMAL column `dec`"):
        stores.fed.query(query, {"d": Decimal("0.15")})


_DOC_ERROR = re.compile(r"^(ColumnTypeError|UnsupportedError): (.*)$")


def doc_examples() -> list[tuple[str, dict, str, str]]:
    """The error examples of docs/types.md: (query, params, error class, message)."""
    text = (Path(__file__).resolve().parent.parent / "docs" / "types.md").read_text()
    examples = []
    for block in re.findall(r"```text\n(.*?)```", text, re.S):
        lines = block.strip().splitlines()
        params = json.loads(lines.pop(0).split(":", 1)[1]) if lines[0].startswith("-- params:") else {}
        error = _DOC_ERROR.match(lines[-1])
        assert error, f"docs/types.md: an example without its error: {block}"
        examples.append(("\n".join(lines[:-1]), params, error.group(1), error.group(2)))
    return examples


@pytest.mark.parametrize("query,params,error,message", doc_examples())
def test_docs_types_examples(stores: Stores, query: str, params: dict, error: str, message: str) -> None:
    with pytest.raises(FederationError) as info:
        stores.fed.query(query, params)
    assert type(info.value).__name__ == error
    assert str(info.value).split("\n")[0] == message


def test_lance_vectors_read_as_duckdb_arrays(stores: Stores) -> None:
    for table, item in (("vec16", pa.float32()), ("vec32", pa.float32()), ("vec64", pa.float64())):
        schema = stores.fed.query(f"SELECT v FROM lance.{table}").schema
        assert pa.types.is_fixed_size_list(schema.field("v").type) and schema.field("v").type.value_type == item


@pytest.mark.parametrize("column", ["dbl", "flt"])
@pytest.mark.parametrize("condition, value", [
    ("< $v", 0.0), ("<= $v", 2.5), ("> $v", 0.0), (">= $v", -1.0), ("$v < ", 0.0), ("$v >= ", 2.5),
    ("= $v", math.nan), ("<> $v", math.nan), ("> $v", math.inf), ("< $v", -math.inf)])
def test_kuzu_float_order_and_nan_follow_duckdb(stores: Stores, column: str, condition: str, value) -> None:
    """Order comparisons of a floating-point property run in Kuzu, written so that NaN
    is above every number as in DuckDB; a comparison with NaN stays in DuckDB (NaN =
    NaN holds there). Each against DuckDB over the same rows, in GRAPH_TABLE and scans."""
    predicate = f"$v {condition.split()[1]} n.{column}" if condition.startswith("$v") else f"n.{column} {condition}"
    everything = stores.fed.query(f"SELECT id, {column} AS c FROM graph.KT").to_arrow()
    duck = duckdb.connect()
    duck.register("kt", everything)
    expected = sorted(duck.execute(f"SELECT id FROM kt n WHERE {predicate.replace(f'n.{column}', 'n.c')}",
                                   {"v": value}).fetchall())
    graph = f"SELECT g.id FROM GRAPH_TABLE (graph MATCH (n:KT) WHERE {predicate} COLUMNS (n.id AS id)) AS g"
    scan = f"SELECT n.id FROM graph.KT n WHERE {predicate}"
    for sql in (graph, scan):
        assert sorted(stores.fed.query(sql, {"v": value}, cache=False).fetchall()) == expected, sql
        pushed = "WHERE" in stores.fed.plan(sql, {"v": value}).fragments[0].text
        assert pushed == (not math.isnan(value)), sql
