"""A first session with federation's Python API, on the demo workspace.

Run: python examples/quickstart.py [folder]   (default: ./federation-demo)
"""

import sys

import federation
from federation.demo import build_workspace

folder = sys.argv[1] if len(sys.argv) > 1 else "federation-demo"
config = build_workspace(folder)  # SQLite + Kuzu + LanceDB files and a federation.toml

with federation.connect(config) as fed:
    # 1. A graph node table joined with SQLite state, with a bound parameter.
    blocked = fed.query(
        """
        SELECT a.name, s.current_task
        FROM graph.Agent AS a JOIN state.agent_state AS s ON s.agent_id = a.id
        WHERE s.status = $status
        ORDER BY a.name
        """,
        {"status": "blocked"},
    )
    print(blocked)

    # 2. Graph pattern -> Cypher; the result is an Arrow table, or pandas if installed.
    peers = fed.query(
        """
        SELECT g.peer, COUNT(*) AS walks
        FROM GRAPH_TABLE (graph
               MATCH (a:Agent)-[:COLLABORATES_WITH]->{1,2}(b:Agent)
               WHERE a.name = 'coordinator-1'
               COLUMNS (b.name AS peer)) AS g
        GROUP BY g.peer ORDER BY walks DESC, g.peer LIMIT 5
        """
    ).to_arrow()
    print(peers.to_pylist())

    # 3. kNN over LanceDB with a text query (embedded by the source's embedder), joined to SQLite.
    facts = fed.query(
        """
        SELECT f.text, ag.name AS author, f._distance
        FROM VECTOR_SEARCH(knowledge.facts, $question, top_k => 3, metric => 'cosine') AS f
        JOIN state.agents AS ag ON ag.id = f.author_id
        ORDER BY f._distance
        """,
        {"question": "connection pooling"},
    )
    for text, author, distance in facts.fetchall():
        print(f"{distance:.3f}  {author:<14} {text}")

    # 4. What ran where.
    print(fed.explain("SELECT a.name FROM graph.Agent a JOIN state.agent_state s ON s.agent_id = a.id"))

    # 5. Mistakes come back as typed errors that say where and what would fix them.
    try:
        fed.query("SELECT nmae FROM state.agents")
    except federation.CatalogError as error:
        print("CatalogError:", error)
