import pytest

from nudge.delivery import jinja_templates
from nudge.delivery.templates import TemplateError, check, html_to_text, render_html, render_text

CONTEXT = {
    "customer": {"id": "42", "first_name": "Ann", "plan": None, "items": ["mug", "tea"]},
    "event": {"name": "purchase", "data": {"total": 19.5}},
    "trigger": {"order_id": "A-7"},
    "campaign": {"name": "Welcome"},
    "message": {"subject": "Hello"},
    "unsubscribe_url": "https://t.test/t/u/abc?a=1&b=2",
    "view_in_browser_url": "https://t.test/t/v/abc",
}


def _reason(source: str, **kwargs) -> str:
    with pytest.raises(TemplateError) as raised:
        render_html(source, CONTEXT, **kwargs)
    return raised.value.reason


# Variables and missing values


def test_given_every_context_variable_when_rendered_then_each_value_appears():
    source = (
        "{{ customer.first_name }}|{{ event.name }}|{{ event.data.total }}|{{ trigger.order_id }}"
        "|{{ campaign.name }}|{{ message.subject }}|{{ view_in_browser_url }}"
    )
    assert render_text(source, CONTEXT) == "Ann|purchase|19.5|A-7|Welcome|Hello|https://t.test/t/v/abc"


def test_given_no_address_when_a_chain_reaches_into_it_then_it_renders_empty():
    assert render_text("[{{ customer.address.city }}][{{ event.data.x['y'].z }}]", CONTEXT) == "[][]"


def test_given_a_missing_top_level_variable_then_it_renders_empty():
    assert render_text("[{{ nobody }}]", CONTEXT) == "[]"


def test_given_a_null_attribute_then_it_renders_empty_rather_than_none():
    assert render_text("[{{ customer.plan }}]", CONTEXT) == "[]"


def test_given_a_key_named_like_a_dict_method_then_the_data_wins():
    """`customer.items` is the customer's items, as in Liquid, not dict.items."""
    assert render_text("{% for i in customer.items %}{{ i }};{% endfor %}", CONTEXT) == "mug;tea;"


def test_given_a_missing_value_used_in_arithmetic_then_it_is_an_error():
    assert "undefined" in _reason("{{ nobody + 1 }}")


# Escaping


def test_html_rendering_escapes_values():
    ctx = {"customer": {"name": "<b>Ann & co</b>"}}
    assert render_html("<p>{{ customer.name }}</p>", ctx) == "<p>&lt;b&gt;Ann &amp; co&lt;/b&gt;</p>"


def test_text_rendering_does_not_escape_values():
    ctx = {"customer": {"name": "<b>Ann & co</b>"}}
    assert render_text("Hi {{ customer.name }}", ctx) == "Hi <b>Ann & co</b>"


# Layouts and snippets


def test_given_a_layout_then_the_body_fills_its_content_slot_unescaped():
    html = render_html(
        "<p>Hi {{ customer.first_name }}</p>",
        CONTEXT,
        layout='<html><body>{{ content }}<a href="{{ unsubscribe_url }}">Unsubscribe</a></body></html>',
    )
    assert html == (
        '<html><body><p>Hi Ann</p><a href="https://t.test/t/u/abc?a=1&amp;b=2">Unsubscribe</a></body></html>'
    )


def test_given_a_layout_error_then_the_reason_names_the_layout():
    assert _reason("x", layout="{{ content }}\n{% endif %}").startswith("layout: line 2:")


def test_given_a_snippet_then_body_and_layout_can_use_it():
    html = render_html(
        "{{ snippets.greeting }}",
        CONTEXT,
        layout="{{ content }}|{{ snippets.greeting }}",
        snippets={"greeting": "<b>Hi</b>"},
    )
    assert html == "<b>Hi</b>|<b>Hi</b>"


def test_given_a_snippet_using_variables_then_they_render_escaped():
    ctx = {**CONTEXT, "customer": {"first_name": "<Ann>"}}
    html = render_html(
        "{{ snippets.sign_off }}", ctx, snippets={"sign_off": "<i>Bye {{ customer.first_name }}</i>"}
    )
    assert html == "<i>Bye &lt;Ann&gt;</i>"


def test_given_a_failing_snippet_then_the_error_names_it():
    reason = _reason("{{ snippets.footer }}", snippets={"footer": "ok\n{{ 1 / 0 }}"})
    assert reason == "snippet 'footer': line 2: division by zero"


def test_given_a_failing_snippet_that_is_not_used_then_rendering_succeeds():
    assert render_html("Hi", CONTEXT, snippets={"broken": "{{ 1 / 0 }}"}) == "Hi"


def test_given_an_unknown_snippet_then_it_renders_empty():
    assert render_html("[{{ snippets.nope }}]", CONTEXT, snippets={}) == "[]"


# Sandbox


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ joiner.__init__.__globals__ }}",
        "{{ namespace.__init__.__globals__ }}",
        "{{ self._TemplateReference__context }}",
        "{{ customer.__class__ }}",
        "{{ customer['__class__'] }}",
        "{{ lipsum.__globals__ }}",
        "{{ nobody['__class__'] }}",
        "{% for x in ().__class__.__base__.__subclasses__() %}{{ x }}{% endfor %}",
        "{{ '{0.__class__}'.format(customer) }}",
        "{{ '{0.__class__.__init__.__globals__}'.format(cycler) }}",
        "{{ '{a.__class__}'.format_map({'a': customer}) }}",
        "{{ ('{0.__class__}'|attr('format'))(customer) }}",
        "{{ '%s'|format(customer.__class__) }}",
        "{{ '%s'|format(cycler.__init__.__globals__) }}",
        "{{ customer|attr('__class__') }}",
        "{{ customer.update({'id': 'x'}) }}",
    ],
)
def test_sandbox_escapes_are_refused(source):
    assert "unsafe" in _reason(source)


def test_given_an_escape_attempt_in_text_then_it_is_refused_too():
    with pytest.raises(TemplateError, match="unsafe"):
        render_text("{{ customer.__class__ }}", CONTEXT)


def test_lipsum_is_not_available():
    """It writes as much text as asked for and has no use in a message."""
    assert render_text("[{{ lipsum }}]", CONTEXT) == "[]"


def test_range_is_capped_by_the_sandbox():
    assert "range" in _reason("{{ range(10000000)|length }}")


# Resource limits


def test_string_repetition_within_the_limit_renders():
    assert render_text("{{ 'ab' * 3 }}", CONTEXT) == "ababab"


@pytest.mark.parametrize(
    "source",
    ["{{ 'a' * 100001 }}", "{{ 1000000 * 'ab' }}", "{{ [0] * 1000000 }}", "{{ ('x',) * 10 ** 6 }}"],
)
def test_huge_repetition_is_refused(source):
    assert "repetition" in _reason(source)


def test_small_powers_render():
    assert render_text("{{ 2 ** 10 }} {{ 2.5 ** 2 }}", CONTEXT) == "1024 6.25"


@pytest.mark.parametrize("source", ["{{ 2 ** 100000 }}", "{{ (10 ** 100) ** 100 }}", "{{ 2.0 ** 100000 }}"])
def test_huge_powers_are_refused(source):
    assert "number too large" in _reason(source)


def test_repeated_squaring_of_a_big_number_is_refused():
    source = (
        "{% set ns = namespace(x=10 ** 200) %}"
        "{% for _ in range(10) %}{% set ns.x = ns.x * ns.x %}{% endfor %}"
    )
    assert "number too large" in _reason(source)


def test_output_beyond_the_cap_is_refused():
    source = "{% for _ in range(11) %}{{ 'x' * 100000 }}{% endfor %}"
    assert "longer than 1,000,000 characters" in _reason(source)


def test_output_at_the_cap_renders():
    assert len(render_text("{% for _ in range(10) %}{{ 'x' * 100000 }}{% endfor %}", CONTEXT)) == 1_000_000


def test_runaway_recursion_is_an_error():
    assert "recursion" in _reason("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}")


# Errors


def test_given_a_syntax_error_then_check_names_the_line():
    with pytest.raises(TemplateError) as raised:
        check("Hello\n{{ customer.first_name }\n")
    assert raised.value.reason.startswith("line 2:")


def test_given_an_unknown_filter_then_check_refuses_it():
    with pytest.raises(TemplateError, match="No filter named 'shout'"):
        check("{{ customer.first_name|shout }}")


def test_given_a_valid_template_then_check_passes():
    source = "{% if customer.first_name %}Hi {{ customer.first_name }}{% endif %}"
    check(source)  # does not raise
    assert render_text(source, CONTEXT) == "Hi Ann"


def test_given_a_runtime_error_then_the_reason_names_the_line():
    assert _reason("a\nb\n{{ 'x' + 1 }}").startswith("line 3:")


def test_template_error_is_a_plain_exception_with_a_reason():
    error = TemplateError("line 1: bad")
    assert (error.reason, str(error)) == ("line 1: bad", "line 1: bad")


# Compile cache


def test_rendering_the_same_source_twice_compiles_once():
    source = "Hi {{ customer.first_name }} (cache test)"
    jinja_templates.compile_template.cache_clear()
    render_text(source, CONTEXT)
    render_text(source, {"customer": {"first_name": "Bo"}})
    info = jinja_templates.compile_template.cache_info()
    assert (info.misses, info.hits) == (1, 1)


# HTML to text

EMAIL = """<!DOCTYPE html>
<html>
<head>
  <meta charset="utf-8">
  <title>Your order</title>
  <style>p { color: #333; }</style>
</head>
<body>
  <table role="presentation" width="100%">
    <tr><td>
      <h1>Thanks,&nbsp;Ann!</h1>
      <p>Your order   #42 &amp; its
         items are on the way. We&#8217;re   excited.</p>
      <ul><li>Blue mug</li><li>Tea &lt;green&gt;</li></ul>
      <p><a href="https://shop.test/orders/42?a=1&amp;b=2">Track your order</a><br>
         Questions? <a href="mailto:help@shop.test">help@shop.test</a></p>
      <script>alert("hi")</script>
    </td></tr>
    <tr><td>
      <a href="https://shop.test/unsubscribe">Unsubscribe</a> | <a href="https://shop.test">https://shop.test</a>
    </td></tr>
  </table>
  <img src="https://t.test/t/o/x" width="1" height="1" alt="" style="display:none">
</body>
</html>"""


def test_html_to_text_on_a_realistic_email():
    assert html_to_text(EMAIL) == (
        "Thanks, Ann!\n"
        "\n"
        "Your order #42 & its items are on the way. We\u2019re excited.\n"
        "\n"
        "- Blue mug\n"
        "- Tea <green>\n"
        "\n"
        "Track your order (https://shop.test/orders/42?a=1&b=2)\n"
        "Questions? help@shop.test\n"
        "\n"
        "Unsubscribe (https://shop.test/unsubscribe) | https://shop.test"
    )


def test_html_to_text_keeps_image_alt_text_and_image_links():
    html = (
        '<p><a href="https://shop.test/sale"><img src="b.png" alt="Shop the sale"></a></p>'
        '<p><a href="https://x.test"><img src="a.png"></a></p>'
    )
    assert html_to_text(html) == "Shop the sale (https://shop.test/sale)\n\nhttps://x.test"


def test_html_to_text_drops_fragment_links():
    assert html_to_text('<a href="#top">Back to top</a>') == "Back to top"
