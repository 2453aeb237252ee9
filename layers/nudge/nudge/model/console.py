"""The web console's members and sessions, in a table of their own.

Not in the workspaces table: that one is written only by the operator (``nudge workspace``, keys), and
the App API, which signs people in and manages members, may only read it. Here the App API reads and
writes, and nothing else is kept.

Items (pk / sk, from ``model.keys``):

- ``Member``: ``ws#<workspace_id>`` / ``member#<email>``: a user's role in a workspace; a workspace's
  members are one Query.
- ``UserWorkspace``: ``user#<email>`` / ``ws#<workspace_id>``: the same membership found from the user:
  the role a console request is checked against (one consistent GetItem) and the workspaces a session
  lists (one Query). Written in one transaction with its ``Member`` twin. Two items rather than one item
  and a global index: an index is read eventually consistently, and a removed member must lose access
  at their very next request.
- ``ConsoleSession``: ``session#<sha256 of the token>`` / ``session``: a signed-in user. The cookie holds
  the token; a leaked table holds no usable session. DynamoDB deletes it some time after ``expires_at``
  (TTL); it is refused from its own end time on, whether or not it is gone yet.
"""

from __future__ import annotations

from pynamodb.attributes import DiscriminatorAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.models import Model

from nudge.model.base import table_meta


class ConsoleItem(Model):
    Meta = table_meta("console", stream=False)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = DiscriminatorAttribute()
    email = UnicodeAttribute()  # lower-cased: the Cognito user's name
    expires_at = TTLAttribute(null=True)  # sessions only


class Member(ConsoleItem, discriminator="member"):
    workspace_id = UnicodeAttribute()
    role = UnicodeAttribute()  # admin, author or viewer
    created_at = NumberAttribute()
    updated_at = NumberAttribute()


class UserWorkspace(ConsoleItem, discriminator="user_workspace"):
    workspace_id = UnicodeAttribute()
    role = UnicodeAttribute()


class ConsoleSession(ConsoleItem, discriminator="console_session"):
    subject = UnicodeAttribute()  # the Cognito user's ``sub``
    created_at = NumberAttribute()
    ends_at = NumberAttribute()  # the absolute end, however active the session is
    renewed_at = NumberAttribute()  # the idle timeout runs from here
    # Cognito's last change to the user when the session was checked: a later change (a new password, a
    # reset) ends the session at its next renewal.
    user_modified = UnicodeAttribute(null=True)
