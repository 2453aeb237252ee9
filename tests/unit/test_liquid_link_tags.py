"""Customer.io's link tags in Liquid: ``{% unsubscribe_url %}``, ``{% view_in_browser_url %}`` and
``{% manage_subscription_preferences_url %}`` write the same URLs as the variables Nudge gives every
message, so templates written for Customer.io render unchanged."""

import pytest

from nudge.delivery import templates

CONTEXT = {
    "customer": {},
    "unsubscribe_url": "https://links.example/t/u/1",
    "view_in_browser_url": "https://links.example/t/v/1",
    "subscription_center_url": "https://links.example/t/s/1",
}


def test_each_tag_writes_its_url_where_it_stands():
    source = (
        '<a href="{% manage_subscription_preferences_url %}">Preferences</a>'
        '<a href="{% unsubscribe_url %}">Unsubscribe</a>{% view_in_browser_url %}.'
    )

    rendered = templates.render_html(source, CONTEXT, language="liquid")

    assert rendered == (
        '<a href="https://links.example/t/s/1">Preferences</a>'
        '<a href="https://links.example/t/u/1">Unsubscribe</a>https://links.example/t/v/1.'
    )


def test_a_link_tag_takes_no_argument():
    with pytest.raises(templates.TemplateError):
        templates.check("{% unsubscribe_url topic_1 %}", "liquid")
