"""Liquid templates: a corpus of Customer.io-style templates rendered exactly, the filters and tags
Customer.io's users write, the sandbox's limits, and errors that name what is wrong."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from nudge.delivery import liquid_templates, templates
from nudge.delivery.templates import Source

CORPUS = Path(__file__).parent.parent / "fixtures" / "liquid"
CONTEXT: dict[str, Any] = json.loads((CORPUS / "context.json").read_text())
SNIPPETS = {path.stem: Source(path.read_text(), "liquid") for path in (CORPUS / "snippets").glob("*.liquid")}
CASES = sorted(path.name.removesuffix(".liquid") for path in CORPUS.glob("*.liquid"))


def liquid(source: str, **context: Any) -> str:
    return templates.render_text(source, context, "liquid")


def liquid_html(source: str, **context: Any) -> str:
    return templates.render_html(source, context, language="liquid")


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 15


@pytest.mark.parametrize("name", CASES)
def test_corpus_renders_exactly(name: str) -> None:
    """Each ``<name>.liquid`` against ``context.json`` (a profile, an event, broadcast trigger data) renders
    to ``<name>.expected``; ``.txt`` ones as text (subjects, SMS), the rest as HTML with the snippets, and
    the one named ``layout`` inside ``layouts/basic.liquid``."""
    source = (CORPUS / f"{name}.liquid").read_text()
    expected = (CORPUS / f"{name}.expected").read_text()
    templates.check(source, "liquid")
    if name.endswith(".txt"):
        rendered = templates.render_text(source, CONTEXT, "liquid")
    else:
        layout = (
            Source((CORPUS / "layouts" / "basic.liquid").read_text(), "liquid") if "layout" in name else None
        )
        rendered = templates.render_html(source, CONTEXT, layout=layout, snippets=SNIPPETS, language="liquid")
    assert rendered == expected


# --- Customer.io's variables, filters and tags ------------------------------------------------------------


def test_default_applies_to_missing_nil_empty_and_false() -> None:
    source = '{{ a | default: "x" }}{{ b | default: "x" }}{{ c | default: "x" }}{{ d | default: "x" }}'
    assert liquid(source, b=None, c="", d=False) == "xxxx"


def test_missing_values_render_empty_even_through_chains() -> None:
    assert liquid(
        "[{{ customer.address.city }}][{{ nope }}][{{ customer.tags[3] }}]", customer={"tags": []}
    ) == ("[][][]")


def test_event_items_are_the_events_items_not_a_method() -> None:
    assert liquid("{{ event.items | size }}", event={"items": [1, 2]}) == "2"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('{{ "ana" | upcase }} {{ "ANA" | downcase }} {{ "ana maria" | capitalize }}', "ANA ana Ana maria"),
        ("{{ 2 | plus: 3 }} {{ 10 | minus: 4 }} {{ 3 | times: 1.5 }}", "5 6 4.5"),
        ('{{ "a,b,c" | split: "," | join: "-" }} {{ "abc" | size }}', "a-b-c 3"),
        ('{{ "hello world" | truncate: 8 }} {{ "a b&c" | url_encode }}', "hello... a+b%26c"),
        ('{{ "<b>" | escape }}', "&lt;b&gt;"),
        ('{% assign x = "y" %}{{ x }}{% capture c %}[{{ x }}]{% endcapture %}{{ c }}', "y[y]"),
        ("{% if a %}A{% elsif b %}B{% else %}C{% endif %}", "B"),
        ("{% unless a %}not a{% endunless %}", "not a"),
        ('{% case "b" %}{% when "a" %}A{% when "b", "c" %}BC{% endcase %}', "BC"),
        ("{% for i in (1..10) limit: 3 offset: 2 %}{{ i }}{% endfor %}", "345"),
        ("{% comment %}gone{% endcomment %}{% raw %}{{ kept }}{% endraw %}", "{{ kept }}"),
        ('{{ 0 | date: "%Y-%m-%d %H:%M" }}', "1970-01-01 00:00"),
    ],
)
def test_common_filters_and_tags(source: str, expected: str) -> None:
    assert liquid(source, a=False, b=True) == expected


def test_dates_from_timestamps_are_utc_and_now_is_nudges_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(liquid_templates.clock, "now", lambda: 1_767_225_600)  # 2026-01-01 00:00 UTC
    assert liquid('{{ "now" | date: "%Y-%m-%d %H:%M" }}') == "2026-01-01 00:00"
    assert liquid('{{ t | date: "%H:%M" }} {{ s | date: "%H:%M" }}', t=1_767_225_600, s="1767225600") == (
        "00:00 00:00"
    )
    assert liquid('{{ "not a date" | date: "%Y" }}') == "not a date"


def test_html_output_is_escaped_but_template_markup_and_snippets_are_not() -> None:
    snippets = {"badge": Source("<b>{{ customer.name }}</b>", "liquid")}
    rendered = templates.render_html(
        "<p>{{ customer.name }}</p>{{ snippets.badge }}",
        {"customer": {"name": "<i>Ann</i>"}},
        snippets=snippets,
        language="liquid",
    )
    assert rendered == "<p>&lt;i&gt;Ann&lt;/i&gt;</p><b>&lt;i&gt;Ann&lt;/i&gt;</b>"


def test_text_output_is_not_escaped() -> None:
    assert liquid("{{ a }}", a="Tom & <Jerry>") == "Tom & <Jerry>"


def test_a_layout_and_a_snippet_may_each_be_in_either_language() -> None:
    rendered = templates.render_html(
        "<p>{{ customer.name | upcase }}</p>{{ snippets.jinja_one }}",
        {"customer": {"name": "ann"}},
        layout=Source("<main>{{ content }}</main>{{ customer.name|upper }}", "jinja"),
        snippets={"jinja_one": Source("<i>{{ customer.name|title }}</i>", "jinja")},
        language="liquid",
    )
    assert rendered == "<main><p>ANN</p><i>Ann</i></main>ANN"


def test_jinja_stays_the_default_language() -> None:
    assert templates.render_text("{{ name|upper }}", {"name": "ann"}) == "ANN"
    with pytest.raises(templates.TemplateError):
        templates.check('{{ name | default: "x" }}')  # Liquid syntax is not Jinja


# --- errors name what is wrong ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("Hi\n{{ name | shout }}", "line 2: unknown filter 'shout'"),
        ("{% frobnicate %}", "line 1: unexpected tag 'frobnicate'"),
        ('{% include "footer" %}', "line 1: unexpected tag 'include'"),
        ('{% render "footer" %}', "line 1: unexpected tag 'render'"),
        ("{% if a %}open", "expected tag endif"),
        ("{{ name | upper }}", "unknown filter 'upper'"),  # a Jinja filter, not Liquid's
    ],
)
def test_check_refuses_unknown_tags_filters_and_syntax_errors(source: str, reason: str) -> None:
    with pytest.raises(templates.TemplateError) as raised:
        templates.check(source, "liquid")
    assert reason in raised.value.reason


def test_a_render_error_names_its_line() -> None:
    with pytest.raises(templates.TemplateError, match=r"^line 2: .*divided_by"):
        liquid("ok\n{{ 1 | divided_by: 0 }}")


# --- the sandbox ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "{{ customer.__class__ }}{{ customer.__class__.__mro__ }}",
        "{{ customer.keys }}{{ customer.items }}{{ customer.update }}",
        "{{ name.__class__.__init__.__globals__ }}",
    ],
)
def test_python_attributes_are_out_of_reach(source: str) -> None:
    assert liquid(source, customer={"a": 1}, name="x") == ""


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("{% for i in (1..1000000000) %}{% endfor %}", "loop iteration limit"),
        ("{% for a in (1..1000) %}{% for b in (1..1000) %}{% endfor %}{% endfor %}", "loop iteration limit"),
        ('{{ (1..50000000) | join: "," }}', "range longer than"),
        (
            '{% assign s = "xxxxxxxxxx" %}{% for i in (1..30) %}{% assign s = s | append: s %}{% endfor %}',
            "local namespace limit",
        ),
        (
            "{% assign n = 3 %}{% for i in (1..40) %}{% assign n = n | times: n %}{% endfor %}",
            "limit|too large",
        ),
        (
            '{% for i in (1..99999) %}{{ "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" }}{% endfor %}',
            "output stream limit",
        ),
        ("{% if a %}" * 40 + "{% endif %}" * 40, "nest"),
    ],
)
def test_limits_stop_greedy_templates_quickly(source: str, reason: str) -> None:
    started = time.monotonic()
    with pytest.raises(templates.TemplateError, match=reason):
        liquid_html(source, a=True)
    assert time.monotonic() - started < 5


def test_output_is_capped_at_the_jinja_sandboxes_size() -> None:
    assert liquid_templates.MAX_LOOP_ITERATIONS * 30 > templates.MAX_OUTPUT  # the cap, not the loop, stops it
    with pytest.raises(templates.TemplateError, match="output stream limit"):
        liquid('{% for i in (1..99999) %}{{ "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" }}{% endfor %}')
