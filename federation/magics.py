"""IPython magics: ``%fql`` and ``%%fql`` run FQL in a notebook (docs/notebooks.md).

    %load_ext federation
    %fql --config federation.toml
    %%fql top <<
    SELECT name FROM state.agents WHERE role = $role

The query text reaches the engine untouched: ``$name`` parameters are bound from
the notebook's variables as values, never spliced into the text. A query returns
a plain pandas/polars DataFrame or Arrow table; a display hook shows the objects
this magic returned as a short table of at most ``limit`` rows.
"""

from __future__ import annotations

import html
import importlib
import keyword
import re
import sys
import weakref
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa
from IPython.core.completer import CompletionContext, SimpleCompletion, context_matcher
from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.utils.dir2 import get_real_method
from IPython.utils.text import DollarFormatter
from traitlets import Enum, Int

from . import ast
from .engine import Federation, connect
from .errors import FederationError, ParameterError
from .formatting import cell_text, column_values, format_table, is_numeric, truncate
from .parser import parse

FORMATS = ("pandas", "polars", "arrow")

# An HTML cell shows at most this many characters; the object keeps the value whole.
_HTML_CELL_WIDTH = 120

# One option token: quoted parts and bare characters up to the next blank.
_TOKEN = re.compile(r"""\s*((?:"[^"]*"|'[^']*'|[^\s"'])+)""")
# `name <<` in front of the query: the result is stored in that variable.
_ASSIGN = re.compile(r"\s*([^\W\d]\w*)\s*<<(.*)\Z", re.DOTALL)
# A line magic call before the cursor: `%fql ...`, also as `x = %fql ...`.
_LINE_MAGIC = re.compile(r"(?:^|[\s=(])%fql\s")


class PlanText(str):
    """A plan, as ``--explain`` returns it: a ``str`` that displays as it reads."""

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(str(self))


class _MissingPackage(ImportError):
    """``--format`` names a library that is not installed."""


@magics_class
class FQLMagic(Magics):
    """The ``%fql`` / ``%%fql`` magics and the federation they query."""

    limit = Int(20, min=0, config=True, help="Rows shown in a result's table; the result itself keeps every row.")
    format = Enum(FORMATS, default_value="pandas", config=True, help="What a query returns: pandas, polars or arrow.")

    def __init__(self, shell):
        super().__init__(shell=shell)
        self.federation: Federation | None = None
        self._owned = False  # opened here from --config, so closed here too
        self._config_key: tuple[Path, bytes] | None = None
        # id(result) -> (weak reference, rows to show, format), for the display hook.
        self._shown: dict[int, tuple[weakref.ref, int, str]] = {}
        # (mimetype, type) -> the printer registered before ours, restored by close().
        self._replaced: dict[tuple[str, type], Any] = {}

    # ------------------------------------------------------------ the magic
    @no_var_expand  # `$name` in a query is a bound parameter, not text to expand
    @magic_arguments()
    @argument("--config", metavar="FILE",
              help="Connect to the federation this TOML file describes; later cells use it too.")
    @argument("--fed", metavar="VAR",
              help="Use the Federation object in notebook variable VAR; later cells use it too.")
    @argument("--limit", type=int, metavar="N",
              help="Rows shown in the result's table (default 20). Alone: the new default.")
    @argument("--format", choices=FORMATS,
              help="Return a pandas (default) or polars DataFrame, or an Arrow table. Alone: the new default.")
    @argument("--explain", action="store_true", help="Show the plan instead of running the query.")
    @argument("--no-cache", action="store_true", help="Run the query without the result cache.")
    @line_cell_magic
    def fql(self, line: str, cell: str | None = None):
        """Run an FQL query on the current federation.

        %fql [options] [name <<] QUERY            one-line query
        %%fql [options] [name <<]                 the query is the cell body

        `$name` parameters take the values of notebook variables, bound as values.
        `name <<` stores the result in variable `name` instead of displaying it.
        Options without a query select the federation (--config, --fed) or set the
        defaults (--limit, --format).
        """
        options, rest = self._split_options(line)
        args = parse_argstring(self.fql, _expand(options, self.shell.user_ns))
        target, query = _target_and_query(rest, cell)
        if args.limit is not None and args.limit < 0:
            raise UsageError("--limit must be 0 or more")
        if args.config is not None and args.fed is not None:
            raise UsageError("Use either --config or --fed, not both")
        try:
            self._select(args)
            if query is None:
                return self._settings(args, target)
            return self._run(query, args, target)
        except (FederationError, _MissingPackage) as exc:
            # Short, like a CLI: the message says what and where; a traceback into
            # the engine would only hide it.
            label = "ImportError" if isinstance(exc, _MissingPackage) else type(exc).__name__
            print(f"{label}: {exc}", file=sys.stderr)
            return None

    def _split_options(self, line: str) -> tuple[str, str]:
        """The leading options of the magic's line, and the rest (query or `name <<`)."""
        takes_value = {
            option for action in self.fql.parser._actions if action.nargs != 0 for option in action.option_strings
        }
        position, value_next = 0, False
        while match := _TOKEN.match(line, position):
            token = match.group(1)
            if not value_next and not token.startswith("-"):
                break
            value_next = not value_next and token in takes_value
            position = match.end()
        return line[:position], line[position:]

    def _settings(self, args, target: str | None) -> None:
        if target is not None:
            raise UsageError(f"Nothing to store in {target!r}: write the query after '<<'")
        if args.explain or args.no_cache:
            raise UsageError("--explain and --no-cache need a query")
        if args.limit is not None:
            self.limit = args.limit
        if args.format is not None:
            self.format = args.format
        if all(value is None or value is False for value in vars(args).values()):
            print(self._status())

    def _status(self) -> str:
        if self.federation is None:
            return "No federation: select one with %fql --config federation.toml or %fql --fed VAR"
        origin = f" from {self._config_key[0]}" if self._owned and self._config_key else ""
        return f"{self.federation!r}{origin}; limit {self.limit}, format {self.format}"

    # ------------------------------------------------------------ federation
    def _select(self, args) -> None:
        if args.config is not None:
            path = Path(args.config).expanduser().resolve()
            key = (path, path.read_bytes() if path.is_file() else b"")
            if not (self._owned and self._config_key == key):
                self._use(connect(path), owned=True, key=key)
        elif args.fed is not None:
            if args.fed not in self.shell.user_ns:
                raise UsageError(f"--fed {args.fed}: no variable {args.fed!r} in the notebook")
            fed = self.shell.user_ns[args.fed]
            if not isinstance(fed, Federation):
                kind = type(fed).__name__
                raise UsageError(f"--fed {args.fed}: {args.fed!r} is a {kind}, not a federation.Federation")
            if fed is not self.federation:
                self._use(fed, owned=False, key=None)

    def _use(self, fed: Federation | None, *, owned: bool, key) -> None:
        if self._owned and self.federation is not None:
            self.federation.close()
        self.federation, self._owned, self._config_key = fed, owned, key

    def close(self) -> None:
        """Close the federation opened here and restore the printers."""
        self._use(None, owned=False, key=None)
        formatters = self.shell.display_formatter.formatters
        for (mime, cls), previous in self._replaced.items():
            printers = formatters[mime].type_printers
            if previous is None:
                printers.pop(cls, None)
            else:
                printers[cls] = previous
        self._replaced.clear()

    # ------------------------------------------------------------ running
    def _run(self, query: str, args, target: str | None):
        fed = self.federation
        if fed is None:
            raise UsageError("No federation: select one first with %fql --config federation.toml or %fql --fed VAR")
        statement = parse(query)
        explain = args.explain or isinstance(statement, ast.Explain)
        params = self._params(statement, unbound_ok=explain)
        if args.explain:
            value: Any = PlanText(fed.explain(query, params))
        else:
            output = args.format or self.format
            _require(output)
            # On the kernel's main thread the engine turns an interrupt into fed.interrupt().
            result = fed.query(query, params, cache=not args.no_cache)
            value = _convert(result, output)
            self._track(value, self.limit if args.limit is None else args.limit, output)
        if target is not None:
            self.shell.push({target: value})
            return None
        return value

    def _params(self, statement: ast.Node, *, unbound_ok: bool) -> dict[str, object]:
        """The value of each `$name` of the query: the notebook variable `name`."""
        names = sorted(statement.parameters())
        namespace = self.shell.user_ns
        missing = [name for name in names if name not in namespace]
        if missing and not unbound_ok:
            listed = ", ".join(f"${name}" for name in missing)
            raise ParameterError(f"No value for {listed}: define a notebook variable of that name")
        return {name: namespace[name] for name in names if name in namespace}

    # ------------------------------------------------------------ display
    def _track(self, value: object, limit: int, output: str) -> None:
        """Show ``value`` as a table of ``limit`` rows whenever it is displayed."""
        key = id(value)
        self._shown[key] = (weakref.ref(value, lambda _, key=key: self._shown.pop(key, None)), limit, output)
        formatters = self.shell.display_formatter.formatters
        cls = type(value)
        for mime, printer in (("text/html", self._html), ("text/plain", self._text)):
            if (mime, cls) in self._replaced:
                continue
            formatter = formatters[mime]
            self._replaced[(mime, cls)] = formatter.type_printers.get(cls)
            fallback = formatter.for_type(cls)  # what would print it without us (may be a base class's printer)
            formatter.for_type(cls, partial(printer, fallback=fallback))

    def _head(self, obj: object) -> tuple[pa.Table, int] | None:
        """The rows to show of a result this magic returned, and its row count."""
        entry = self._shown.get(id(obj))
        if entry is None or entry[0]() is not obj:
            return None
        _, limit, output = entry
        try:
            return _head_rows(obj, limit, output), len(obj)  # type: ignore[arg-type]
        except (pa.ArrowException, ValueError, TypeError):
            return None  # changed in place into something Arrow cannot hold: shown as usual

    def _html(self, obj: object, *, fallback) -> str | None:
        head = self._head(obj)
        if head is not None:
            return _html_table(*head)
        if fallback is not None:
            return fallback(obj)
        method = get_real_method(obj, "_repr_html_")
        return method() if method is not None else None

    def _text(self, obj: object, p, cycle, *, fallback) -> None:
        head = self._head(obj)
        if head is not None:
            p.text(_text_table(*head))
        elif fallback is not None:
            fallback(obj, p, cycle)
        elif (method := get_real_method(obj, "_repr_pretty_")) is not None:
            method(p, cycle)
        else:
            p.text(repr(obj))

    # ------------------------------------------------------------ completion
    @context_matcher(priority=1)
    def complete(self, context: CompletionContext):
        """`source.table` names in a query, option names on the magic's line."""
        first_line = context.full_text.split("\n", 1)[0]
        in_cell = first_line.startswith("%%fql")
        on_magic_line = (in_cell and context.cursor_line == 0) or _LINE_MAGIC.search(context.text_until_cursor)
        token = context.token
        if on_magic_line and token.startswith("-"):
            candidates = [option for action in self.fql.parser._actions for option in action.option_strings]
        elif in_cell or on_magic_line:
            candidates = self._table_names()
        else:
            candidates = []
        matches = [c for c in candidates if c.lower().startswith(token.lower())]
        return {"completions": [SimpleCompletion(m, type="fql") for m in matches], "suppress": bool(matches)}

    def _table_names(self) -> list[str]:
        fed = self.federation
        if fed is None:
            return []
        names = []
        for source in fed.sources.values():
            try:
                names.extend(f"{source.name}.{table}" for table in source.tables())
            except Exception:  # noqa: BLE001, S112 - completion is best effort: never a traceback while typing
                continue
        return sorted(names)


# ------------------------------------------------------------ extension


def load_ipython_extension(ipython) -> None:
    """``%load_ext federation``: register %fql / %%fql, its configuration and completion."""
    if "FQLMagic" in ipython.magics_manager.registry:
        return  # loaded already, e.g. as both `federation` and `federation.magics`
    magics = FQLMagic(ipython)
    ipython.register_magics(magics)
    ipython.Completer.custom_matchers.append(magics.complete)


def unload_ipython_extension(ipython) -> None:
    """Remove the magics and close the federation they opened."""
    magics = ipython.magics_manager.registry.pop("FQLMagic", None)
    if magics is None:
        return
    magics.close()
    for kind in ("line", "cell"):
        ipython.magics_manager.magics[kind].pop("fql", None)
    ipython.configurables.remove(magics)
    ipython.Completer.custom_matchers.remove(magics.complete)


# ------------------------------------------------------------ helpers


def _expand(options: str, namespace: dict) -> str:
    """`$var` and `{expr}` in the options, as IPython expands any magic's line (the
    query is left alone: its `$name` are parameters)."""
    try:
        return DollarFormatter().vformat(options, args=[], kwargs=namespace)
    except Exception:  # noqa: BLE001 - IPython's own rule: text it cannot expand stays as written
        return options


def _target_and_query(rest: str, cell: str | None) -> tuple[str | None, str | None]:
    """Split what follows the options into `name <<` and the query (None: none)."""
    target = None
    match = _ASSIGN.match(rest)
    if match and match.group(1).isidentifier() and not keyword.iskeyword(match.group(1)):
        target, rest = match.group(1), match.group(2)
    # Leading blanks dropped, so error columns count from the query's first character.
    # In a cell magic, text after the options on the first line starts the query.
    rest = rest.lstrip()
    query = rest if cell is None else (f"{rest}\n{cell}" if rest.strip() else cell)
    return target, query if query.strip() else None


def _require(output: str) -> None:
    if output == "arrow":
        return
    try:
        importlib.import_module(output)
    except ImportError:
        raise _MissingPackage(
            f"--format {output} needs {output}: pip install 'federation[{output}]' (or use --format arrow)"
        ) from None


def _convert(result, output: str):
    if output == "pandas":
        return result.df()
    if output == "polars":
        return result.pl()
    return result.to_arrow()


def _head_rows(obj, limit: int, output: str) -> pa.Table:
    """The first ``limit`` rows of a result object as an Arrow table."""
    if output == "arrow":
        return obj.slice(0, limit)
    head = obj.head(limit)
    if output == "polars":
        return head.to_arrow()
    # pandas allows repeated column names (`SELECT a.id, b.id`), Arrow's from_pandas
    # does not: convert under positional names, then restore the real ones.
    names = [str(name) for name in head.columns]
    table = pa.Table.from_pandas(head.set_axis(range(len(names)), axis=1), preserve_index=False)
    return table.rename_columns(names)


def _footer(total: int, shown: int) -> str:
    if shown < total:
        return f"({total} rows, {shown} shown)"
    return "(1 row)" if total == 1 else f"({total} rows)"


def _text_table(head: pa.Table, total: int) -> str:
    lines = format_table(head, max_rows=None).split("\n")
    lines[-1] = _footer(total, head.num_rows)
    return "\n".join(lines)


def _html_table(head: pa.Table, total: int) -> str:
    aligns = ["right" if is_numeric(field.type) else "left" for field in head.schema]
    header = "".join(
        f'<th style="text-align: {align}">{html.escape(name)}</th>' for name, align in zip(head.column_names, aligns)
    )
    rows = []
    for row in zip(*(column_values(column) for column in head.columns)):
        cells = "".join(
            f'<td style="text-align: {align}">{_html_cell(value)}</td>' for value, align in zip(row, aligns)
        )
        rows.append(f"<tr>{cells}</tr>")
    return (
        '<div class="fql-result"><table class="dataframe">'
        f"<thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        f"<p>{_footer(total, head.num_rows)}</p></div>"
    )


def _html_cell(value: object) -> str:
    if value is None:
        return "<em>NULL</em>"
    return html.escape(truncate(cell_text(value), _HTML_CELL_WIDTH))
