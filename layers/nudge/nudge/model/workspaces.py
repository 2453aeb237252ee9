"""Workspaces and their credentials: written only by the operator (``nudge workspace``), read by the
functions. Keys are stored as SHA-256 hashes, never in the clear. (The console's members and sessions,
which the App API writes, are in ``model.console``.)"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    DiscriminatorAttribute,
    NumberAttribute,
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


class CdpCredential(WorkspacesItem, discriminator="cdp_credential"):
    """pk ``cdpkey#<sha256>``, sk ``cdp``: a Pipelines API key, found by its hash as an app key is (it is
    sent alone, as a Basic auth user with no password or as a Bearer token)."""

    created_at = NumberAttribute()


class KeyRecord(WorkspacesItem, discriminator="key_record"):
    """pk ``ws#<workspace_id>``, sk ``key#<key_id>``: one per App, Track or Pipelines key, so a workspace
    lists its own keys with one Query. It names the credential item (an app or Pipelines key's hash, a track
    key's site id) but holds no secret; the credential items stay the only thing authentication reads."""

    key_type = UnicodeAttribute()  # "app", "track" or "cdp" (Pipelines)
    key_id = UnicodeAttribute()
    name = UnicodeAttribute()
    key_hash = UnicodeAttribute(null=True)  # app and cdp keys: the current secret's hash (credential's pk)
    site_id = UnicodeAttribute(null=True)  # track keys: the site id of the Basic auth pair
    created_at = NumberAttribute()
    rotated_at = NumberAttribute(null=True)
