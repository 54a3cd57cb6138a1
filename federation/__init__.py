"""federation: one query over SQLite, Kuzu and LanceDB.

    import federation
    with federation.connect("federation.toml") as fed:
        print(fed.query("SELECT ... FROM state.agents JOIN graph.Agent ...").df())
"""

from .engine import Federation, connect
from .errors import (
    CatalogError,
    ColumnTypeError,
    ConfigError,
    ExecutionError,
    FederationError,
    ParameterError,
    QueryCancelled,
    QueryTimeout,
    QuerySyntaxError,
    ResultTooLarge,
    SourceError,
    UnsupportedError,
)
from .result import Result

__version__ = "0.1.0"

__all__ = [
    "connect", "Federation", "Result", "FederationError", "QuerySyntaxError", "CatalogError",
    "ParameterError", "UnsupportedError", "SourceError", "ColumnTypeError", "ExecutionError", "ConfigError",
    "QueryCancelled", "QueryTimeout", "ResultTooLarge",
]


def load_ipython_extension(ipython) -> None:
    """``%load_ext federation``: the %fql and %%fql magics (see docs/notebooks.md)."""
    from .magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython) -> None:
    """``%unload_ext federation``: closes the federation the magics opened."""
    from .magics import unload_ipython_extension as unload

    unload(ipython)
