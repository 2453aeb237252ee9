"""Jinja, the language of content stored before Liquid became the default, rendered in a sandbox.

Templates are written by workspace users, so they are untrusted code that runs inside our Lambdas. They
run in Jinja's immutable sandbox (no private attributes, no mutating built-in containers, a sandboxed
``str.format``), and a few limits keep one bad template from exhausting a function: ``*`` and ``**``
cannot build huge values and the output of any render is capped (by ``templates``, for both languages).
Every failure, at compile or render time, surfaces as one exception, :class:`JinjaTemplateError`, whose
``reason`` can be shown to the author (``templates`` raises it again as its ``TemplateError``).

The limits are not a complete guard against slow or greedy templates (a padding width in a format
spec, a ``join`` with a huge separator, a loop that outputs nothing): the Lambda's own memory and time
limits remain the last line of defence.

Missing values render as empty text, also through chains (``{{ customer.address.city }}`` with no
address), and so does ``None``, as in Customer.io's Liquid templates.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, NoReturn

from jinja2 import ChainableUndefined, Template, TemplateSyntaxError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

MAX_REPEAT = 100_000  # items or characters a `*` repetition may produce
MAX_INT_BITS = 4_096  # about 1,200 digits: bounds `*` and `**` on integers, so repeated squaring stays cheap


class JinjaTemplateError(Exception):
    """A template that cannot compile or render. ``reason`` is a short message naming the problem, with
    the template line where Jinja knows it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Environment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def getattr(self, obj: Any, attribute: str) -> Any:
        # Data before methods: `event.items` is the event's items, not dict.items (as in Liquid).
        if isinstance(obj, Mapping) and attribute in obj:
            return obj[attribute]
        _refuse_private(obj, attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(argument, str) and not (isinstance(obj, Mapping) and argument in obj):
            _refuse_private(obj, argument)
        return super().getitem(obj, argument)

    def unsafe_undefined(self, obj: Any, attribute: str) -> NoReturn:
        # The stock sandbox answers an unsafe attribute with an undefined value that renders as "";
        # an escape attempt should fail loudly instead.
        raise SecurityError(f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe")

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            _check_product(left, right)
        elif operator == "**":
            _check_power(left, right)
        try:
            return super().call_binop(context, operator, left, right)
        except OverflowError:  # float arithmetic; its own message is an errno tuple
            raise SecurityError("number too large") from None


def _refuse_private(obj: Any, name: str) -> None:
    # The sandbox refuses these too, but for an undefined value Jinja raises a bare AttributeError.
    if name.startswith("_"):
        raise SecurityError(f"access to attribute {name!r} of {type(obj).__name__!r} object is unsafe")


def _check_product(left: Any, right: Any) -> None:
    for seq, times in ((left, right), (right, left)):
        if isinstance(seq, str | bytes | list | tuple) and isinstance(times, int):
            if len(seq) * times > MAX_REPEAT:
                raise SecurityError(f"repetition longer than {MAX_REPEAT:,} items")
            return
    if (
        isinstance(left, int)
        and isinstance(right, int)
        and left.bit_length() + right.bit_length() > MAX_INT_BITS
    ):
        raise SecurityError("number too large")


def _check_power(base: Any, exponent: Any) -> None:
    # Floats overflow on their own (OverflowError); integers grow without bound.
    if not (isinstance(base, int) and isinstance(exponent, int)) or exponent <= 0 or abs(base) <= 1:
        return
    if base.bit_length() * exponent > MAX_INT_BITS:
        raise SecurityError("number too large")


def _new_environment(*, autoescape: bool) -> _Environment:
    env = _Environment(
        autoescape=autoescape,
        undefined=ChainableUndefined,
        finalize=lambda value: "" if value is None else value,
    )
    # `lipsum` has no use in a message and writes as many paragraphs as asked for. `cycler`, `joiner`,
    # `namespace`, `dict` and `range` stay: their escape routes all go through private attributes, which
    # the sandbox refuses, and the sandbox's `range` is capped.
    del env.globals["lipsum"]
    return env


_TEXT = _new_environment(autoescape=False)
_HTML = _new_environment(autoescape=True)


@functools.lru_cache(maxsize=256)
def compile_template(source: str, html: bool) -> Template:
    """Compiling costs far more than rendering; one template is rendered for many people in a row."""
    try:
        return (_HTML if html else _TEXT).from_string(source)
    except Exception as exc:  # a syntax error, or a template nested deeply enough to exhaust the parser
        raise JinjaTemplateError(_reason(exc)) from exc


def _reason(exc: BaseException) -> str:
    message = (exc.message if isinstance(exc, TemplateSyntaxError) else None) or str(exc)
    message = message or type(exc).__name__
    line = exc.lineno if isinstance(exc, TemplateSyntaxError) else _template_line(exc)
    return f"line {line}: {message}" if line else message


def _template_line(exc: BaseException) -> int | None:
    # Jinja rewrites tracebacks so that frames from template code carry the template's line number.
    line, tb = None, exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def render(
    template: Template,
    context: Mapping[str, Any],
    max_output: int,
    nested: tuple[type[Exception], ...] = (),
) -> str:
    """Render, at most ``max_output`` characters. ``nested``: the errors of renders the context runs
    (a snippet's), already naming where they are; they pass through as they are."""
    # Streamed so that a template looping to a huge output stops at the cap, not after building it.
    passed_through: tuple[type[Exception], ...] = (JinjaTemplateError, *nested)
    chunks: list[str] = []
    size = 0
    try:
        for chunk in template.generate(dict(context)):
            size += len(chunk)
            if size > max_output:
                raise JinjaTemplateError(f"the rendered text is longer than {max_output:,} characters")
            chunks.append(chunk)
    except passed_through:
        raise
    except Exception as exc:  # anything a template expression can raise: undefined, security, type, ...
        raise JinjaTemplateError(_reason(exc)) from exc
    return "".join(chunks)
