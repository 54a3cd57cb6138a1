"""Suite 3: vector search, latency and recall@10, with and without a 1% prefilter.

Alternatives, all over the same facts (128-d float32, 100 topic clusters):
- LanceDB flat: the ``facts`` table has no vector index, so the search is exact;
- LanceDB IVF_PQ (``facts_ivfpq``: ~sqrt(n) partitions, 16 sub-vectors), searched
  with ``nprobes=20``, without and with ``refine_factor=10`` (re-ranks 100
  candidates on the full vectors);
- LanceDB IVF_HNSW_SQ (``facts_hnsw``), default search settings and ``ef=100``;
- DuckDB brute force: ``ORDER BY array_distance(vector, q) LIMIT 10`` over an
  in-memory DuckDB table of the facts;
- numpy: ``||x||^2 - 2 x.q`` (``einsum``) with precomputed norms and ``argpartition``.

The prefilter is ``bucket = 42`` (1% of the rows, independent of the vectors,
with a BITMAP index in LanceDB). Ground truth is an exact float64 search in
numpy. Latency is per query: each timed run searches every query vector once and
is divided by their number.
"""

from __future__ import annotations

from typing import Any, Callable

import duckdb
import numpy as np
import pyarrow as pa

from .datagen import DIM
from .measure import run_round_robin
from .stores import Stores

K = 10
NPROBES = 20
REFINE = 10
EF = 100


def _lance(table, nprobes: int | None = None, refine: int | None = None, ef: int | None = None) -> Callable:
    def search(q: np.ndarray, where: str | None) -> list[int]:
        query = table.search(q).limit(K).select(["id", "_distance"])
        if nprobes is not None:
            query = query.nprobes(nprobes)
        if refine is not None:
            query = query.refine_factor(refine)
        if ef is not None:
            query = query.ef(ef)
        if where is not None:
            query = query.where(where, prefilter=True)
        return query.to_arrow()["id"].to_pylist()
    return search


def run(st: Stores, repeat: int, log=print) -> dict[str, Any]:
    ws = st.ws
    p = ws.params
    queries = np.asarray(p["queries"], dtype=np.float32)
    facts = st.facts.to_arrow().select(["id", "bucket", "vector"])
    ids = facts["id"].to_numpy()
    bucket = facts["bucket"].to_numpy()
    matrix = facts["vector"].combine_chunks().flatten().to_numpy().reshape(-1, DIM)
    norms = np.einsum("ij,ij->i", matrix, matrix)
    where = f"bucket = {int(p['bucket'])}"
    selected = bucket == int(p["bucket"])

    # exact answers, in float64
    exact64 = matrix.astype(np.float64)
    truth: dict[str, list[set[int]]] = {"none": [], "1%": []}
    for q in queries.astype(np.float64):
        d = ((exact64 - q) ** 2).sum(axis=1)
        truth["none"].append(set(ids[np.argsort(d)[:K]].tolist()))
        d_sel = np.where(selected, d, np.inf)
        truth["1%"].append(set(ids[np.argsort(d_sel)[:min(K, int(selected.sum()))]].tolist()))
    del exact64

    duck = duckdb.connect()
    duck.execute("SET enable_progress_bar = false")
    duck.register("frame", facts)
    duck.execute(f"CREATE TABLE facts AS SELECT id, bucket, vector::FLOAT[{DIM}] AS vector FROM frame")
    duck.unregister("frame")

    def duckdb_search(q: np.ndarray, where_sql: str | None) -> list[int]:
        filter_sql = f"WHERE {where_sql}" if where_sql else ""
        rows = duck.execute(f"SELECT id FROM facts {filter_sql} ORDER BY array_distance(vector, $q::FLOAT[{DIM}]) "
                            f"LIMIT {K}", {"q": q.tolist()}).fetchall()
        return [r[0] for r in rows]

    def numpy_search(q: np.ndarray, where_sql: str | None) -> list[int]:
        # einsum, not `matrix @ q`: on this shared 2-core machine OpenBLAS's threaded
        # matrix-vector product ran ~10x slower than einsum's single-threaded loop.
        if where_sql is None:
            d = norms - 2 * np.einsum("ij,j->i", matrix, q)
            top = np.argpartition(d, K)[:K]
            return ids[top].tolist()
        rows = np.flatnonzero(bucket == int(p["bucket"]))
        d = norms[rows] - 2 * np.einsum("ij,j->i", matrix[rows], q)
        top = rows[np.argpartition(d, min(K, len(rows) - 1))[:K]]
        return ids[top].tolist()

    ivfpq, hnsw = st.lance_table("facts_ivfpq"), st.lance_table("facts_hnsw")
    methods: dict[str, Callable] = {
        "LanceDB flat": _lance(st.facts),
        f"LanceDB IVF_PQ (nprobes={NPROBES})": _lance(ivfpq, NPROBES),
        f"LanceDB IVF_PQ (nprobes={NPROBES}, refine={REFINE})": _lance(ivfpq, NPROBES, REFINE),
        "LanceDB IVF_HNSW_SQ": _lance(hnsw),
        f"LanceDB IVF_HNSW_SQ (ef={EF})": _lance(hnsw, ef=EF),
        "DuckDB brute force": duckdb_search,
        "numpy": numpy_search,
    }
    results = []
    try:
        for filt, where_text in (("none", None), ("1%", where)):
            alternatives = {name: (lambda fn=fn: [fn(q, where_text) for q in queries]) for name, fn in methods.items()}
            samples, answers, errors = run_round_robin(alternatives, repeat)
            for name in methods:
                if name in errors:
                    results.append({"method": name, "prefilter": filt, "error": errors[name]})
                    continue
                recall = float(np.mean([len(set(got) & want) / max(1, len(want))
                                        for got, want in zip(answers[name], truth[filt])]))
                summary = samples[name].summary()
                per_query = {k: v / len(queries) for k, v in summary.items() if k.endswith("_ms")}
                results.append({"method": name, "prefilter": filt, "recall_at_10": recall,
                                **summary, **per_query, "queries": len(queries)})
                log(f"  {name} [{filt}]: {per_query['median_ms']:.2f} ms/query, recall@10 {recall:.3f}")
    finally:
        duck.close()
    return {"results": results, "k": K, "rows": int(len(ids)), "dim": DIM,
            "index_build_seconds": {k: v for k, v in ws.meta["build_seconds"].items() if k.startswith("index")}}
