"""The channels are declared once (``nudge.delivery.channel_names``); the tables written per channel are
checked against that list here, so a channel added there and missing from a table fails a test, not a
send."""

from nudge.delivery import compose, request_shapes
from nudge.delivery.channel_names import ALIASES, CHANNELS, cio_name
from nudge.reporting import events


def test_every_channel_has_its_template_fields_and_composer_in_the_declared_order():
    assert tuple(request_shapes.FIELDS) == CHANNELS
    assert tuple(compose._COMPOSERS) == CHANNELS


def test_a_transactional_send_takes_every_channel_but_webhook():
    assert request_shapes.SEND_CHANNELS == ("email", "sms", "push", "in_app")
    assert tuple(request_shapes.INLINE) == request_shapes.SEND_CHANNELS
    assert tuple(request_shapes.INLINE_REQUIRED) == request_shapes.SEND_CHANNELS


def test_customer_io_reports_every_channel():
    assert all(f"{channel}_sent" in events.NAMES for channel in CHANNELS)


def test_customer_io_names_sms_twilio_and_keeps_the_others():
    assert [cio_name(channel) for channel in CHANNELS] == ["email", "twilio", "push", "in_app", "webhook"]
    assert ALIASES == {"twilio": "sms"}
