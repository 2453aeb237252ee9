import pytest

from nudge.errors import InvalidRequest
from nudge.tracking.people import IdentifyRequest


def test_reserved_fields_are_split_from_attributes():
    req = IdentifyRequest.parse(
        {
            "id": "u1",
            "email": "a@b.co",
            "plan": "pro",
            "_update": True,
            "_timestamp": 5,
            "created_at": 7,
            "anonymous_id": "anon",
            "unsubscribed": "1",
            "cio_subscription_preferences.topics.t1": False,
        }
    )
    assert req.attributes == {"plan": "pro"}
    assert (req.new_id, req.email, req.anonymous_id) == ("u1", "a@b.co", "anon")
    assert (req.update_only, req.timestamp, req.created_at, req.unsubscribed) == (True, 5, 7, True)
    assert req.preferences == {"topics.t1": False}


def test_bad_email_is_refused():
    with pytest.raises(InvalidRequest, match="email must be an email address"):
        IdentifyRequest.parse({"email": "not-an-email"})


def test_preferences_must_be_an_object():
    with pytest.raises(InvalidRequest, match="cio_subscription_preferences must be an object"):
        IdentifyRequest.parse({"cio_subscription_preferences": "yes"})
