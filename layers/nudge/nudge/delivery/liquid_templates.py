"""Liquid, Customer.io's template language, rendered with python-liquid in a sandbox.

The guarantees are the Jinja sandbox's (``templates``): a template sees only the data it is given (Liquid
reads mappings and sequences by key and index, never Python attributes), output is capped, and loops,
nesting and what ``assign`` and ``capture`` may hold are bounded, so one template cannot exhaust a
function. ``include`` and ``render`` are removed: nothing is read from a file system, and shared content
comes from the workspace's snippets (``{{ snippets.name }}``, as in Customer.io).

Unknown tags and filters are syntax errors when the template is parsed, so saving names them. Missing
values render as empty text, also through chains, as in Customer.io.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping
from typing import Any

from liquid import BoundTemplate, Environment, Tag
from liquid.ast import Node
from liquid.builtin.expressions import FilteredExpression, tokenize
from liquid.builtin.output import OutputNode
from liquid.exceptions import LiquidError
from liquid.stream import TokenStream
from liquid.token import TOKEN_TAG

from nudge import clock

MAX_LOOP_ITERATIONS = 100_000  # every loop of one render together
MAX_NAMESPACE = 1_000_000  # roughly the characters `assign` and `capture` may hold together
MAX_DEPTH = 30  # nested blocks (if in for in case ...)
MAX_RANGE = 100_000  # items of a `(1..n)` range a filter may take (a for loop is held by the loop limit)
MAX_INT_BITS = 4_096  # as the Jinja sandbox's: bounds `times` on integers


class LiquidTemplateError(Exception):
    """``reason``: a short message naming the problem, with the template line when known."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _reason(exc: BaseException) -> str:
    if isinstance(exc, LiquidError):
        message = str(exc.message or type(exc).__name__)
        where = exc.context()
        return f"line {where[0]}: {message}" if where else message
    return str(exc) or type(exc).__name__


def _guard_ranges(func: Callable[..., Any]) -> Callable[..., Any]:
    # A range is lazy until a filter walks it: `(1..50000000) | join` would build the whole string.
    @functools.wraps(func)  # keeps the attributes python-liquid reads (with_context, with_environment)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        for value in (*args, *kwargs.values()):
            if isinstance(value, range) and len(value) > MAX_RANGE:
                raise LiquidTemplateError(f"a range longer than {MAX_RANGE:,} items")
        return func(*args, **kwargs)

    return guarded


def _guard_times(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def times(*args: Any, **kwargs: Any) -> Any:
        result = func(*args, **kwargs)
        if isinstance(result, int) and result.bit_length() > MAX_INT_BITS:
            raise LiquidTemplateError("number too large")
        return result

    return times


def _date(value: Any, fmt: Any = None) -> str:
    """Liquid's ``date``, with Unix timestamps read as UTC (Customer.io's default; the stock filter uses
    the machine's zone) and "now" from Nudge's clock."""
    if value is None or fmt is None or not isinstance(fmt, str):
        return "" if value is None else str(value)
    when: dt.datetime | None
    if value in ("now", "today"):
        when = dt.datetime.fromtimestamp(clock.now(), dt.UTC)
    elif isinstance(value, bool):
        when = None
    elif isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
        try:
            when = dt.datetime.fromtimestamp(float(value), dt.UTC)
        except (OverflowError, OSError, ValueError):
            when = None
    elif isinstance(value, str):
        when = _parse_date(value)
    elif isinstance(value, dt.datetime):
        when = value
    else:
        when = None
    if when is None:
        return str(value)  # as the reference implementation: input it cannot read is returned as is
    try:
        return when.strftime(fmt)
    except ValueError as exc:
        raise LiquidTemplateError(f"date: {exc}") from exc


def _parse_date(text: str) -> dt.datetime | None:
    from dateutil import parser  # python-liquid's own dependency, as its date filter uses

    try:
        return parser.parse(text)
    except (ValueError, OverflowError):
        return None


# Customer.io writes its links as tags: each outputs the variable Nudge gives every message.
LINK_TAGS = {
    "unsubscribe_url": "unsubscribe_url",
    "view_in_browser_url": "view_in_browser_url",
    "manage_subscription_preferences_url": "subscription_center_url",
}


class _LinkTag(Tag):
    """``{% manage_subscription_preferences_url %}`` and its kin: ``{{ <variable> }}`` under another name."""

    block = False
    variable = ""

    def parse(self, stream: TokenStream) -> Node:
        stream.expect(TOKEN_TAG, value=self.name)  # the parser moves past it, as past any tag
        token = stream.current
        expression = FilteredExpression.parse(self.env, TokenStream(tokenize(self.variable, token)))
        return OutputNode(token, expression)


class _Environment(Environment):
    loop_iteration_limit = MAX_LOOP_ITERATIONS
    local_namespace_limit = MAX_NAMESPACE
    context_depth_limit = MAX_DEPTH
    block_nesting_limit = MAX_DEPTH


def _new_environment(*, autoescape: bool, max_output: int) -> _Environment:
    # The limits are class attributes in python-liquid: one class per output cap.
    limited = type("_LimitedEnvironment", (_Environment,), {"output_stream_limit": max_output})
    env = limited(autoescape=autoescape)
    for tag in ("include", "render"):  # they read other templates from a loader; snippets replace them
        env.tags.pop(tag, None)
    for name, func in list(env.filters.items()):
        env.filters[name] = _guard_ranges(func)
    env.filters["times"] = _guard_times(env.filters["times"])
    env.filters["date"] = _date
    for name, variable in LINK_TAGS.items():
        env.add_tag(type(f"_{name}", (_LinkTag,), {"name": name, "variable": variable}))
    return env


@functools.cache
def _environment(html: bool, max_output: int) -> _Environment:
    return _new_environment(autoescape=html, max_output=max_output)


@functools.lru_cache(maxsize=256)
def compile_template(source: str, html: bool, max_output: int) -> BoundTemplate:
    env = _environment(html, max_output)
    try:
        template = env.from_string(source)
        used = template.analyze(include_partials=False).filters
    except LiquidError as exc:
        raise LiquidTemplateError(_reason(exc)) from exc
    except RecursionError as exc:  # a template nested deeply enough to exhaust the parser
        raise LiquidTemplateError("the template is nested too deeply") from exc
    # python-liquid looks filters up only when it applies them: a filter the language does not have
    # would fail the send, so it is refused here, when the template is saved.
    for name, spans in used.items():
        if name not in env.filters:
            line = source.count("\n", 0, max(spans[0].index, 0)) + 1 if spans else None
            raise LiquidTemplateError(
                f"line {line}: unknown filter {name!r}" if line else f"unknown filter {name!r}"
            )
    return template


def render(template: BoundTemplate, context: Mapping[str, Any]) -> str:
    try:
        return template.render(**context)
    except LiquidTemplateError:
        raise
    except LiquidError as exc:
        raise LiquidTemplateError(_reason(exc)) from exc
    except Exception as exc:  # anything a filter can raise on odd data: type, value, overflow, ...
        raise LiquidTemplateError(_reason(exc)) from exc
