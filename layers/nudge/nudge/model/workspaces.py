"""Workspaces and their credentials, the console's members and sessions. Keys and session tokens are
stored as SHA-256 hashes, never in the clear."""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    DiscriminatorAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
)
from pynamodb.models import Model

from nudge.model.base import table_meta


class WorkspacesItem(Model):
    Meta = table_meta("workspaces", stream=False)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = DiscriminatorAttribute()
    workspace_id = UnicodeAttribute()
    # Console sessions only: DynamoDB deletes one some time after it expired (a session is refused from
    # its own end time on, whether or not it is gone yet).
    expires_at = TTLAttribute(null=True)


class Workspace(WorkspacesItem, discriminator="workspace"):
    """pk ``ws#<workspace_id>``, sk ``workspace``."""

    name = UnicodeAttribute()
    plan = UnicodeAttribute()
    billing_start = UnicodeAttribute()  # YYYY-MM-DD: the first billing period starts here
    site_id = UnicodeAttribute()
    app_key_hash = UnicodeAttribute()  # the app key issued with the workspace; its keys are KeyRecords
    invoice_contact = UnicodeAttribute(null=True)
    tax_location = UnicodeAttribute(null=True)  # a key of the tax-rate table in the billing catalog
    tax_exempt = BooleanAttribute(default=False)
    created_at = NumberAttribute()


class TrackCredential(WorkspacesItem, discriminator="track_credential"):
    """pk ``site#<site_id>``, sk ``track``: Basic auth looks the site up, then compares the key hash."""

    key_hash = UnicodeAttribute()
    created_at = NumberAttribute()


class AppCredential(WorkspacesItem, discriminator="app_credential"):
    """pk ``appkey#<sha256>``, sk ``app``: a bearer key is found by its hash."""

    created_at = NumberAttribute()


class KeyRecord(WorkspacesItem, discriminator="key_record"):
    """pk ``ws#<workspace_id>``, sk ``key#<key_id>``: one per App or Track key, so a workspace lists its own
    keys with one Query. It names the credential item (an app key's hash, a track key's site id) but holds
    no secret; the credential items stay the only thing authentication reads."""

    key_type = UnicodeAttribute()  # "app" or "track"
    key_id = UnicodeAttribute()
    name = UnicodeAttribute()
    key_hash = UnicodeAttribute(null=True)  # app keys: the current secret's hash (its credential's pk)
    site_id = UnicodeAttribute(null=True)  # track keys: the site id of the Basic auth pair
    created_at = NumberAttribute()
    rotated_at = NumberAttribute(null=True)


class Member(WorkspacesItem, discriminator="member"):
    """pk ``ws#<workspace_id>``, sk ``member#<email>``: a console user's role in the workspace, listed with
    one Query. Written in one transaction with its ``UserWorkspace`` twin."""

    email = UnicodeAttribute()  # lower-cased: the Cognito user's name
    role = UnicodeAttribute()  # admin, author or viewer
    created_at = NumberAttribute()
    updated_at = NumberAttribute()


class UserWorkspace(WorkspacesItem, discriminator="user_workspace"):
    """pk ``user#<email>``, sk ``ws#<workspace_id>``: the same membership found from the user: the role a
    console request is checked against (one GetItem) and the workspaces a session lists (one Query)."""

    email = UnicodeAttribute()
    role = UnicodeAttribute()


class ConsoleSession(WorkspacesItem, discriminator="console_session"):
    """pk ``session#<sha256 of the token>``, sk ``session``: a signed-in console user. The cookie holds the
    token; a leaked table holds no usable session. ``workspace_id`` is empty: a user spans workspaces."""

    email = UnicodeAttribute()
    subject = UnicodeAttribute()  # the Cognito user's ``sub``
    created_at = NumberAttribute()
    ends_at = NumberAttribute()  # the absolute end, however active the session is
    renewed_at = NumberAttribute()  # the idle timeout runs from here
