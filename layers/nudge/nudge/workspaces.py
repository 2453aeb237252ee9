"""Workspaces and credentials: create, list, rotate keys, authenticate.

Keys are random, shown once, and stored only as SHA-256 hashes. A slow hash is unnecessary because the
keys carry 160+ bits of entropy; what matters is that a leaked table does not leak usable keys, and that
comparisons run in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist
from pynamodb.transactions import TransactWrite

from nudge import clock
from nudge.errors import InvalidRequest, NotFound, Unauthorized
from nudge.model import AppCredential, TrackCredential, Workspace

PLANS = ("essentials", "premium", "enterprise")
_NAME_MAX = 200


@dataclass(frozen=True)
class WorkspaceInfo:
    workspace_id: str
    name: str
    plan: str
    billing_start: str
    site_id: str
    created_at: int


@dataclass(frozen=True)
class IssuedKeys:
    """The only time the clear keys exist outside the caller's hands."""

    workspace_id: str
    site_id: str
    track_api_key: str
    app_api_key: str


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _workspace_pk(workspace_id: str) -> str:
    return f"ws#{workspace_id}"


def _site_pk(site_id: str) -> str:
    return f"site#{site_id}"


def _app_pk(key_hash: str) -> str:
    return f"appkey#{key_hash}"


def _info(ws: Workspace) -> WorkspaceInfo:
    return WorkspaceInfo(ws.workspace_id, ws.name, ws.plan, ws.billing_start, ws.site_id, int(ws.created_at))


def create_workspace(name: str, plan: str, billing_start: str | None = None) -> IssuedKeys:
    name = name.strip()
    if not name or len(name) > _NAME_MAX:
        raise InvalidRequest(f"name must be 1 to {_NAME_MAX} characters", field="name")
    if plan not in PLANS:
        raise InvalidRequest(f"plan must be one of {', '.join(PLANS)}", field="plan")
    start = billing_start or date.today().isoformat()
    try:
        date.fromisoformat(start)
    except ValueError as exc:
        raise InvalidRequest("billing start must be a date YYYY-MM-DD", field="billing_start") from exc
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", start):
        raise InvalidRequest("billing start must be a date YYYY-MM-DD", field="billing_start")

    workspace_id = secrets.token_hex(8)
    site_id = secrets.token_hex(10)
    track_key = secrets.token_hex(20)
    app_key = "nudge_app_" + secrets.token_urlsafe(32)
    now = clock.now()
    workspace = Workspace(
        _workspace_pk(workspace_id),
        "workspace",
        workspace_id=workspace_id,
        name=name,
        plan=plan,
        billing_start=start,
        site_id=site_id,
        app_key_hash=hash_key(app_key),
        created_at=now,
    )
    track = TrackCredential(
        _site_pk(site_id), "track", workspace_id=workspace_id, key_hash=hash_key(track_key), created_at=now
    )
    app = AppCredential(_app_pk(hash_key(app_key)), "app", workspace_id=workspace_id, created_at=now)
    with TransactWrite(connection=_connection()) as tx:
        for item in (workspace, track, app):
            tx.save(item, condition=type(item).pk.does_not_exist())
    return IssuedKeys(workspace_id, site_id, track_key, app_key)


def list_workspaces() -> list[WorkspaceInfo]:
    # An operator command over a small table: a filtered scan is the honest cost here.
    found = Workspace.scan()  # the discriminator keeps credentials out
    return sorted((_info(ws) for ws in found), key=lambda w: (w.created_at, w.workspace_id))


def load(workspace_id: str) -> Workspace:
    try:
        return Workspace.get(_workspace_pk(workspace_id), "workspace", consistent_read=True)
    except DoesNotExist as exc:
        raise NotFound(f"workspace {workspace_id} not found") from exc


def get_workspace(workspace_id: str) -> WorkspaceInfo:
    try:
        return _info(Workspace.get(_workspace_pk(workspace_id), "workspace"))
    except DoesNotExist as exc:
        raise NotFound(f"workspace {workspace_id} not found") from exc


def update_billing_details(
    workspace_id: str,
    *,
    invoice_contact: str | None = None,
    tax_location: str | None = None,
    tax_exempt: bool | None = None,
) -> None:
    """Where invoices go and how they are taxed (a location is a key of the catalog's tax rates)."""
    try:
        ws = Workspace.get(_workspace_pk(workspace_id), "workspace", consistent_read=True)
    except DoesNotExist as exc:
        raise NotFound(f"workspace {workspace_id} not found") from exc
    if invoice_contact is not None:
        if "@" not in invoice_contact:
            raise InvalidRequest("invoice contact must be an email address", field="invoice_contact")
        ws.invoice_contact = invoice_contact
    if tax_location is not None:
        from nudge.billing import catalog

        if tax_location not in catalog.load().tax_rates_basis_points:
            known = ", ".join(sorted(catalog.load().tax_rates_basis_points))
            raise InvalidRequest(f"tax location must be one of {known}", field="tax_location")
        ws.tax_location = tax_location
    if tax_exempt is not None:
        ws.tax_exempt = tax_exempt
    ws.save()


@lru_cache(maxsize=4096)
def billing_anchor(workspace_id: str) -> date:
    """The date the workspace's first billing period starts; periods renew on its day of the month.
    Cached: it never changes once the workspace exists."""
    try:
        return date.fromisoformat(Workspace.get(_workspace_pk(workspace_id), "workspace").billing_start)
    except DoesNotExist as exc:
        raise NotFound(f"workspace {workspace_id} not found") from exc


def rotate_keys(workspace_id: str) -> IssuedKeys:
    """Issue new Track and App keys; the old ones stop working at once."""
    try:
        ws = Workspace.get(_workspace_pk(workspace_id), "workspace", consistent_read=True)
    except DoesNotExist as exc:
        raise NotFound(f"workspace {workspace_id} not found") from exc
    track_key = secrets.token_hex(20)
    app_key = "nudge_app_" + secrets.token_urlsafe(32)
    now = clock.now()
    old_app_hash = ws.app_key_hash
    with TransactWrite(connection=_connection()) as tx:
        tx.save(
            TrackCredential(
                _site_pk(ws.site_id),
                "track",
                workspace_id=workspace_id,
                key_hash=hash_key(track_key),
                created_at=now,
            )
        )
        tx.delete(AppCredential(_app_pk(old_app_hash), "app"))
        tx.save(AppCredential(_app_pk(hash_key(app_key)), "app", workspace_id=workspace_id, created_at=now))
        tx.update(ws, actions=[Workspace.app_key_hash.set(hash_key(app_key))])
    return IssuedKeys(workspace_id, ws.site_id, track_key, app_key)


def authenticate_track(site_id: str, api_key: str) -> str:
    """Return the workspace id for a Track API ``site_id:api_key`` pair, or raise ``Unauthorized``."""
    if not site_id or not api_key or len(site_id) > 200:
        raise Unauthorized()
    try:
        cred = TrackCredential.get(_site_pk(site_id), "track")
    except DoesNotExist as exc:
        raise Unauthorized() from exc
    if not hmac.compare_digest(cred.key_hash, hash_key(api_key)):
        raise Unauthorized()
    return cred.workspace_id


def authenticate_app(api_key: str) -> str:
    """Return the workspace id for an App API bearer key, or raise ``Unauthorized``."""
    if not api_key or len(api_key) > 200:
        raise Unauthorized()
    digest = hash_key(api_key)
    try:
        cred = AppCredential.get(_app_pk(digest), "app")
    except DoesNotExist as exc:
        raise Unauthorized() from exc
    # The lookup matched on the hash already; the constant-time compare keeps it that way if the
    # storage layer ever matched loosely.
    if not hmac.compare_digest(cred.pk, _app_pk(digest)):
        raise Unauthorized()
    return cred.workspace_id


def _connection() -> Connection:
    return Workspace._get_connection().connection
