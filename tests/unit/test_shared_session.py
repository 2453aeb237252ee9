from moto import mock_aws

from nudge.model import EventItem, IdentifierLookup, Person, TrackCredential


def test_every_model_builds_its_client_from_one_session():
    with mock_aws():
        sessions = {
            id(model._get_connection().connection.session)
            for model in (Person, IdentifierLookup, EventItem, TrackCredential)
        }
    assert len(sessions) == 1
