"""Message templates: subjects, bodies, SMS and push text rendered with Liquid or Jinja in a sandbox.

Every source has a language (``LIQUID`` or ``JINJA``): Liquid is Customer.io's and new workspaces'
default, rendered by ``liquid_templates``; content stored before languages existed is Jinja, and renders
exactly as it always did. The rest of this module is the Jinja side.

Templates are written by workspace users, so they are untrusted code that runs inside our Lambdas. They
run in Jinja's immutable sandbox (no private attributes, no mutating built-in containers, a sandboxed
``str.format``), and a few limits keep one bad template from exhausting a function: ``*`` and ``**``
cannot build huge values and the output of any render is capped. Every failure, at compile or render
time, surfaces as one exception, :class:`TemplateError`, whose ``reason`` can be shown to the author.

The limits are not a complete guard against slow or greedy templates (a padding width in a format
spec, a ``join`` with a huge separator, a loop that outputs nothing): the Lambda's own memory and time
limits remain the last line of defence.

Missing values render as empty text, also through chains (``{{ customer.address.city }}`` with no
address), and so does ``None``, as in Customer.io's Liquid templates.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any, NoReturn

from jinja2 import ChainableUndefined, Template, TemplateSyntaxError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from markupsafe import Markup

from nudge.delivery.request_shapes import JINJA, LIQUID

MAX_OUTPUT = 1_000_000  # characters in any one rendered template
MAX_REPEAT = 100_000  # items or characters a `*` repetition may produce
MAX_INT_BITS = 4_096  # about 1,200 digits: bounds `*` and `**` on integers, so repeated squaring stays cheap


class TemplateError(Exception):
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
def _compile(source: str, html: bool) -> Template:
    """Compiling costs far more than rendering; one template is rendered for many people in a row."""
    try:
        return (_HTML if html else _TEXT).from_string(source)
    except Exception as exc:  # a syntax error, or a template nested deeply enough to exhaust the parser
        raise TemplateError(_reason(exc)) from exc


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


def _run(template: Template, context: Mapping[str, Any]) -> str:
    # Streamed so that a template looping to a huge output stops at the cap, not after building it.
    chunks: list[str] = []
    size = 0
    try:
        for chunk in template.generate(dict(context)):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise TemplateError(f"the rendered text is longer than {MAX_OUTPUT:,} characters")
            chunks.append(chunk)
    except TemplateError:
        raise
    except Exception as exc:  # anything a template expression can raise: undefined, security, type, ...
        raise TemplateError(_reason(exc)) from exc
    return "".join(chunks)


@dataclass(frozen=True)
class Source:
    """A layout's or snippet's text and the language it is written in."""

    text: str
    language: str = JINJA


def _source(value: str | Source) -> Source:
    return value if isinstance(value, Source) else Source(value)


def _liquid(source: str, html: bool) -> Any:
    # Imported on first use: python-liquid brings Babel and dateutil (about 0.25 s of a cold start),
    # which a function that renders only Jinja never needs.
    from nudge.delivery import liquid_templates

    try:
        return liquid_templates.compile_template(source, html, MAX_OUTPUT)
    except liquid_templates.LiquidTemplateError as exc:
        raise TemplateError(exc.reason) from exc


def _render_liquid(source: str, context: Mapping[str, Any], html: bool) -> str:
    from nudge.delivery import liquid_templates

    try:
        return liquid_templates.render(_liquid(source, html), context)
    except liquid_templates.LiquidTemplateError as exc:
        raise TemplateError(exc.reason) from exc


def _render(
    source: str,
    context: Mapping[str, Any],
    *,
    html: bool,
    what: str | None = None,
    language: str = JINJA,
) -> str:
    try:
        if language == LIQUID:
            return _render_liquid(source, context, html)
        return _run(_compile(source, html), context)
    except TemplateError as exc:
        if what is None:
            raise
        raise TemplateError(f"{what}: {exc.reason}") from exc


def check(source: str, language: str = JINJA) -> None:
    """Compile only, to refuse a broken template when it is saved."""
    if language == LIQUID:
        _liquid(source, True)
    else:
        _compile(source, True)


def render_text(source: str, context: Mapping[str, Any], language: str = JINJA) -> str:
    """Render without escaping: subjects, SMS, push text and plain-text bodies."""
    return _render(source, context, html=False, language=language)


class _Snippets(Mapping[str, Markup]):
    """Snippets rendered on first use, so a workspace's unused (or broken) snippets cost nothing."""

    def __init__(self, sources: Mapping[str, str | Source], context: Mapping[str, Any]) -> None:
        self._sources = sources
        self._context = context
        self._rendered: dict[str, Markup] = {}

    def __getitem__(self, name: str) -> Markup:
        if name not in self._rendered:
            source = _source(self._sources[name])
            html = _render(
                source.text, self._context, html=True, what=f"snippet {name!r}", language=source.language
            )
            self._rendered[name] = Markup(html)  # noqa: S704 (autoescaped output: safe to embed as is)
        return self._rendered[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._sources)

    def __len__(self) -> int:
        return len(self._sources)


def render_html(
    source: str,
    context: Mapping[str, Any],
    *,
    layout: str | Source | None = None,
    snippets: Mapping[str, str | Source] | None = None,
    language: str = JINJA,
) -> str:
    """Render an HTML body with autoescaping, then the layout around it (``{{ content }}``).

    Snippets see the same context but not each other, so they cannot recurse or depend on an order. The
    body, the layout and each snippet are rendered in their own languages.
    """
    context = {**context, "snippets": _Snippets(snippets or {}, context)}
    body = _render(source, context, html=True, language=language)
    if layout is None:
        return body
    frame = _source(layout)
    content = Markup(body)  # noqa: S704 (autoescaped output: safe to embed as is)
    return _render(
        frame.text, {**context, "content": content}, html=True, what="layout", language=frame.language
    )


_SKIP = {"script", "style", "head", "title", "template"}
_PARAGRAPH = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "blockquote", "hr", "pre"}
_LINE = {
    "address", "article", "aside", "br", "center", "dd", "div", "dl", "dt", "figure", "figcaption",
    "footer", "form", "header", "main", "nav", "section", "tbody", "tfoot", "thead", "tr",
}  # fmt: skip


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0
        self._links: list[tuple[str, int]] = []  # (href, where the link's text starts in parts)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skipping += 1
        elif self._skipping:
            return
        elif tag == "a":
            self._links.append(((dict(attrs).get("href") or "").strip(), len(self.parts)))
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in ("td", "th"):
            self.parts.append(" ")
        elif tag == "img":
            self.parts.append(dict(attrs).get("alt") or "")
        self._block(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif self._skipping:
            return
        elif tag == "a" and self._links:
            href, start = self._links.pop()
            text = " ".join("".join(self.parts[start:]).split())
            if (
                href
                and not href.startswith(("#", "javascript:"))
                and text not in (href, href.removeprefix("mailto:"))
            ):
                self.parts.append(f" ({href})" if text else href)
        elif tag != "br":  # <br> and <br/> arrive as start tags; a stray </br> is not a second break
            self._block(tag)

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(re.sub(r"\s+", " ", data))

    def _block(self, tag: str) -> None:
        if self._skipping:
            return
        if tag in _PARAGRAPH:
            self.parts.append("\n\n")
        elif tag in _LINE:
            self.parts.append("\n")


def html_to_text(html: str) -> str:
    """A readable plain-text alternative for an HTML email: links as "text (url)", block elements on
    their own lines, scripts and styles dropped, entities unescaped and whitespace collapsed."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
