"""Message templates: subjects, bodies, SMS and push text rendered with Liquid or Jinja in a sandbox.

Every source has a language (``LIQUID`` or ``JINJA``): Liquid is Customer.io's and new workspaces'
default, rendered by ``liquid_templates``; content stored before languages existed is Jinja, and renders
exactly as it always did, rendered by ``jinja_templates``. This module chooses between them, renders
layouts and snippets around a body, and turns HTML into text.

Templates are written by workspace users, so they are untrusted code that runs inside our Lambdas: each
language renders in its own sandbox (see those modules), and the output of any render is capped here
(``MAX_OUTPUT``). Every failure, at compile or render time and in either language, surfaces as one
exception, :class:`TemplateError`, whose ``reason`` can be shown to the author.

Missing values render as empty text, also through chains (``{{ customer.address.city }}`` with no
address), and so does ``None``, as in Customer.io's Liquid templates.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from markupsafe import Markup

from nudge.delivery.request_shapes import JINJA, LIQUID

MAX_OUTPUT = 1_000_000  # characters in any one rendered template


class TemplateError(Exception):
    """A template that cannot compile or render. ``reason`` is a short message naming the problem, with
    the template line where the language knows it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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


def _jinja(source: str, html: bool) -> Any:
    # Imported on first use, as Liquid is: Jinja (about 30 ms of a cold start) renders only content stored
    # before Liquid became the default, so most functions that hold templates never need it.
    from nudge.delivery import jinja_templates

    try:
        return jinja_templates.compile_template(source, html)
    except jinja_templates.JinjaTemplateError as exc:
        raise TemplateError(exc.reason) from exc


def _render_jinja(source: str, context: Mapping[str, Any], html: bool) -> str:
    from nudge.delivery import jinja_templates

    try:
        return jinja_templates.render(_jinja(source, html), context, MAX_OUTPUT, nested=(TemplateError,))
    except jinja_templates.JinjaTemplateError as exc:
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
        return _render_jinja(source, context, html)
    except TemplateError as exc:
        if what is None:
            raise
        raise TemplateError(f"{what}: {exc.reason}") from exc


def check(source: str, language: str = JINJA) -> None:
    """Compile only, to refuse a broken template when it is saved."""
    if language == LIQUID:
        _liquid(source, True)
    else:
        _jinja(source, True)


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
