"""Workspaces and credentials: create, list, rotate keys, authenticate.

Keys are random, shown once, and stored only as SHA-256 hashes. A slow hash is unnecessary because the
keys carry 160+ bits of entropy; what matters is that a leaked table does not leak usable keys, and that
comparisons run in constant time.

A workspace holds any number of App, Track and Pipelines (``cdp``) keys, as Customer.io's do, each named and
listed through a ``KeyRecord`` (no secret in it). A Track key is a Basic auth pair: its own site id and a
secret. App and Pipelines keys are a secret alone, found by its hash. Rotating a
key replaces its secret at once, as creating and deleting keys do in Customer.io (whose documents describe
no grace period): a rotation without downtime is a second key, the integration moved, the first revoked.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError

from nudge import clock
from nudge.errors import Conflict, InvalidRequest, NotFound, Unauthorized
from nudge.model import AppCredential, CdpCredential, KeyRecord, TrackCredential, Workspace
from nudge.model.base import transaction, transaction_lost_race
from nudge.model.keys import WORKSPACE_SK, workspace_pk

PLANS = ("essentials", "premium", "enterprise")
KEY_TYPES = ("app", "track", "cdp")
_NAME_MAX = 200
KEY_NAME_MAX = 200
KEYS_MAX = 100  # keys of each type a workspace may hold: a listing stays one small Query
DEFAULT_KEY_NAME = "default"


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
    cdp_api_key: str  # the Pipelines API's key


@dataclass(frozen=True)
class ApiKey:
    """A key as listed. ``secret`` is set only in the answer that issued it (creation or rotation)."""

    key_id: str
    key_type: str  # "app", "track" or "cdp"
    name: str
    created_at: int
    rotated_at: int | None
    site_id: str | None  # track keys: the site id half of the Basic auth pair (not a secret)
    secret: str | None = None

    def to_api(self) -> dict[str, object]:
        body: dict[str, object] = {
            "id": self.key_id,
            "type": self.key_type,
            "name": self.name,
            "created_at": self.created_at,
            "rotated_at": self.rotated_at,
        }
        if self.site_id is not None:
            body["site_id"] = self.site_id
        if self.secret is not None:
            body["secret"] = self.secret
        return body


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _site_pk(site_id: str) -> str:
    return f"site#{site_id}"


def _app_pk(key_hash: str) -> str:
    return f"appkey#{key_hash}"


def _cdp_pk(key_hash: str) -> str:
    return f"cdpkey#{key_hash}"


# The kinds of key that are a secret alone, found by its hash: their credential's model and key.
_HashedCredential = type[AppCredential] | type[CdpCredential]
_HASHED: dict[str, tuple[_HashedCredential, Callable[[str], str]]] = {
    "app": (AppCredential, _app_pk),
    "cdp": (CdpCredential, _cdp_pk),
}


def _hashed_credential(key_type: str, key_hash: str, workspace_id: str | None = None, now: int = 0) -> Any:
    model, pk = _HASHED[key_type]
    if workspace_id is None:
        return model(pk(key_hash), key_type)  # to delete: the key alone
    return model(pk(key_hash), key_type, workspace_id=workspace_id, created_at=now)


def _key_sk(key_id: str) -> str:
    return f"key#{key_id}"


def _new_track_secret() -> str:
    return secrets.token_hex(20)


def _new_app_secret() -> str:
    return "nudge_app_" + secrets.token_urlsafe(32)


def _new_cdp_secret() -> str:
    # Shaped like Customer.io's newer keys (``sk_us_...``): its Python Pipelines client sends such a key as
    # a Bearer token, others as a Basic auth user; both are accepted. Hex: nothing a Basic user cannot hold.
    return "sk_us_nudge_" + secrets.token_hex(24)


def _new_hashed_secret(key_type: str) -> str:
    return _new_app_secret() if key_type == "app" else _new_cdp_secret()


def _app_record(
    workspace_id: str, key_id: str, name: str, key_hash: str, now: int, key_type: str = "app"
) -> KeyRecord:
    return KeyRecord(
        workspace_pk(workspace_id),
        _key_sk(key_id),
        workspace_id=workspace_id,
        key_type=key_type,
        key_id=key_id,
        name=name,
        key_hash=key_hash,
        created_at=now,
    )


def _track_record(workspace_id: str, key_id: str, name: str, site_id: str, now: int) -> KeyRecord:
    return KeyRecord(
        workspace_pk(workspace_id),
        _key_sk(key_id),
        workspace_id=workspace_id,
        key_type="track",
        key_id=key_id,
        name=name,
        site_id=site_id,
        created_at=now,
    )


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
    track_key = _new_track_secret()
    app_key = _new_app_secret()
    cdp_key = _new_cdp_secret()
    now = clock.now()
    workspace = Workspace(
        workspace_pk(workspace_id),
        WORKSPACE_SK,
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
    cdp = _hashed_credential("cdp", hash_key(cdp_key), workspace_id, now)
    records = (
        _track_record(workspace_id, secrets.token_hex(8), DEFAULT_KEY_NAME, site_id, now),
        _app_record(workspace_id, secrets.token_hex(8), DEFAULT_KEY_NAME, hash_key(app_key), now),
        _app_record(workspace_id, secrets.token_hex(8), DEFAULT_KEY_NAME, hash_key(cdp_key), now, "cdp"),
    )
    with transaction(Workspace) as tx:
        for item in (workspace, track, app, cdp, *records):
            tx.save(item, condition=type(item).pk.does_not_exist())
    return IssuedKeys(workspace_id, site_id, track_key, app_key, cdp_key)


def list_workspaces() -> list[WorkspaceInfo]:
    # An operator command over a small table: a filtered scan is the honest cost here.
    found = Workspace.scan()  # the discriminator keeps credentials out
    return sorted((_info(ws) for ws in found), key=lambda w: (w.created_at, w.workspace_id))


def load(workspace_id: str) -> Workspace:
    try:
        return Workspace.get(workspace_pk(workspace_id), WORKSPACE_SK, consistent_read=True)
    except DoesNotExist as exc:
        raise NotFound(f"workspace {workspace_id} not found") from exc


def get_workspace(workspace_id: str) -> WorkspaceInfo:
    try:
        return _info(Workspace.get(workspace_pk(workspace_id), WORKSPACE_SK))
    except DoesNotExist as exc:
        raise NotFound(f"workspace {workspace_id} not found") from exc


@lru_cache(maxsize=4096)
def billing_anchor(workspace_id: str) -> date:
    """The date the workspace's first billing period starts; periods renew on its day of the month.
    Cached: it never changes once the workspace exists."""
    try:
        return date.fromisoformat(Workspace.get(workspace_pk(workspace_id), WORKSPACE_SK).billing_start)
    except DoesNotExist as exc:
        raise NotFound(f"workspace {workspace_id} not found") from exc


def rotate_keys(workspace_id: str) -> IssuedKeys:
    """New secrets for the workspace's oldest Track, App and Pipelines keys (the ones it was created with,
    unless revoked since; one of a type is created when none is left, as for a workspace created before
    Pipelines keys existed); the old secrets stop working at
    once. The operator's command: the App API rotates one key at a time (``rotate_key``)."""
    load(workspace_id)
    keys = list_keys(workspace_id)
    issued: dict[str, ApiKey] = {}
    for key_type in KEY_TYPES:
        oldest = next((k for k in keys if k.key_type == key_type), None)
        issued[key_type] = (
            create_key(workspace_id, key_type, DEFAULT_KEY_NAME)
            if oldest is None
            else rotate_key(workspace_id, oldest.key_id)
        )
    track, app, cdp = issued["track"], issued["app"], issued["cdp"]
    assert track.site_id and track.secret and app.secret and cdp.secret  # issued keys always carry them
    return IssuedKeys(workspace_id, track.site_id, track.secret, app.secret, cdp.secret)


# --- API keys, one at a time (the App API's /v1/api_keys) -------------------------------------------


def _view(record: KeyRecord, secret: str | None = None) -> ApiKey:
    return ApiKey(
        record.key_id,
        record.key_type,
        record.name,
        int(record.created_at),
        None if record.rotated_at is None else int(record.rotated_at),
        record.site_id if record.key_type == "track" else None,
        secret,
    )


def _records(workspace_id: str) -> list[KeyRecord]:
    found = [
        r
        for r in KeyRecord.query(
            workspace_pk(workspace_id), KeyRecord.sk.startswith("key#"), consistent_read=True
        )
        if isinstance(r, KeyRecord)
    ]
    if not found:
        # Only a workspace created before keys were listed has none (the app key a request authenticates
        # with always has one, and cannot be revoked): record its two original keys once.
        found = _record_original_keys(load(workspace_id))
    return sorted(found, key=lambda r: (int(r.created_at), r.key_id))


def _record_original_keys(ws: Workspace) -> list[KeyRecord]:
    """Records for the keys a workspace was created with, where their credentials still exist. Their ids
    derive from the workspace, so two requests doing this at once write the same records."""
    records = []
    derived = hashlib.sha256(f"{ws.workspace_id}#original".encode()).hexdigest()
    now = int(ws.created_at)
    # A key rotated away under an older version has no credential left under these names: not listed.
    if _exists(TrackCredential, _site_pk(ws.site_id), "track"):
        records.append(_track_record(ws.workspace_id, derived[:16], DEFAULT_KEY_NAME, ws.site_id, now))
    if _exists(AppCredential, _app_pk(ws.app_key_hash), "app"):
        records.append(_app_record(ws.workspace_id, derived[16:32], DEFAULT_KEY_NAME, ws.app_key_hash, now))
    for record in records:
        record.save()  # idempotent: same key, same content
    return records


def _exists(model: type[AppCredential] | type[TrackCredential], pk: str, sk: str) -> bool:
    return model.count(pk, model.sk == sk, consistent_read=True) > 0


def _record(workspace_id: str, key_id: str) -> KeyRecord:
    # Another workspace's key id is looked up under this workspace's partition, so it is simply absent.
    for record in _records(workspace_id):
        if record.key_id == key_id:
            return record
    raise NotFound(f"api key {key_id} not found")


# Each check of a new key's fields beside the JSON Schema that says the same (the App API's body).
KEY_TYPE_SCHEMA: dict[str, Any] = {"enum": list(KEY_TYPES)}


def check_key_type(value: object, field: str = "type") -> str:
    if value not in KEY_TYPES:
        raise InvalidRequest(f"{field} must be one of {', '.join(KEY_TYPES)}", field=field)
    return str(value)


# The name is trimmed before its characters are counted: maxLength, which counts them all, is stricter
# only for a name padded past it.
KEY_NAME_SCHEMA: dict[str, Any] = {"type": "string", "pattern": r"\S", "maxLength": KEY_NAME_MAX}


def check_key_name(value: object, field: str = "name") -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > KEY_NAME_MAX:
        raise InvalidRequest(f"{field} must be a string of 1 to {KEY_NAME_MAX} characters", field=field)
    return value.strip()


def list_keys(workspace_id: str) -> list[ApiKey]:
    """The workspace's App, Track and Pipelines keys, oldest first, without their secrets."""
    return [_view(r) for r in _records(workspace_id)]


def create_key(workspace_id: str, key_type: object, name: object) -> ApiKey:
    """A new key; its secret is in this answer only."""
    key_type = check_key_type(key_type)
    clean_name = check_key_name(name)
    if sum(1 for r in _records(workspace_id) if r.key_type == key_type) >= KEYS_MAX:
        raise InvalidRequest(f"a workspace holds at most {KEYS_MAX} {key_type} keys", field="type")
    key_id = secrets.token_hex(8)
    now = clock.now()
    if key_type in _HASHED:
        secret = _new_hashed_secret(key_type)
        record = _app_record(workspace_id, key_id, clean_name, hash_key(secret), now, key_type)
        credential: AppCredential | CdpCredential | TrackCredential = _hashed_credential(
            key_type, hash_key(secret), workspace_id, now
        )
    else:
        secret = _new_track_secret()
        site_id = secrets.token_hex(10)
        record = _track_record(workspace_id, key_id, clean_name, site_id, now)
        credential = TrackCredential(
            _site_pk(site_id), "track", workspace_id=workspace_id, key_hash=hash_key(secret), created_at=now
        )
    with transaction(Workspace) as tx:
        tx.save(credential, condition=type(credential).pk.does_not_exist())
        tx.save(record, condition=KeyRecord.pk.does_not_exist())
    return _view(record, secret)


def rotate_key(workspace_id: str, key_id: str) -> ApiKey:
    """A new secret for the key (same id, name and, for a Track key, site id); the old one stops at once."""
    record = _record(workspace_id, key_id)
    now = clock.now()
    try:
        with transaction(Workspace) as tx:
            if record.key_type in _HASHED:
                secret = _new_hashed_secret(record.key_type)
                assert record.key_hash is not None  # app and cdp records always name their credential
                model = _HASHED[record.key_type][0]
                tx.delete(_hashed_credential(record.key_type, record.key_hash), condition=model.pk.exists())
                tx.save(
                    _hashed_credential(record.key_type, hash_key(secret), workspace_id, now),
                    condition=model.pk.does_not_exist(),
                )
                # A concurrent rotation or revocation changed the record: this one fails whole.
                tx.update(
                    record,
                    actions=[KeyRecord.key_hash.set(hash_key(secret)), KeyRecord.rotated_at.set(now)],
                    condition=KeyRecord.key_hash == record.key_hash,
                )
            else:
                secret = _new_track_secret()
                assert record.site_id is not None
                tx.update(
                    TrackCredential(_site_pk(record.site_id), "track"),
                    actions=[
                        TrackCredential.key_hash.set(hash_key(secret)),
                        TrackCredential.created_at.set(now),
                    ],
                    condition=TrackCredential.pk.exists(),
                )
                tx.update(
                    record,
                    actions=[KeyRecord.rotated_at.set(now)],
                    condition=KeyRecord.pk.exists(),
                )
    except TransactWriteError as exc:
        if not transaction_lost_race(exc):
            raise  # DynamoDB unavailable: the edge answers 503
        raise Conflict(f"api key {key_id} changed while it was being rotated; retry") from exc
    record.rotated_at = now
    if record.key_type in _HASHED:
        record.key_hash = hash_key(secret)
    return _view(record, secret)


def revoke_key(workspace_id: str, key_id: str, *, in_use: str | None) -> None:
    """Delete a key: it stops working at once. ``in_use`` is the app key the request authenticated with
    (None for a console session): revoking it is refused (``Conflict``), so a program cannot lock itself
    out by mistake (revoke it with another app key, or from the console)."""
    record = _record(workspace_id, key_id)
    if (
        in_use is not None
        and record.key_hash is not None
        and hmac.compare_digest(record.key_hash, hash_key(in_use))
    ):
        raise Conflict(f"api key {key_id} authenticates this request: revoke it with another app key")
    try:
        with transaction(Workspace) as tx:
            if record.key_type in _HASHED:
                assert record.key_hash is not None
                tx.delete(_hashed_credential(record.key_type, record.key_hash))
                tx.delete(record, condition=KeyRecord.key_hash == record.key_hash)
            else:
                assert record.site_id is not None
                tx.delete(TrackCredential(_site_pk(record.site_id), "track"))
                tx.delete(record, condition=KeyRecord.pk.exists())
    except TransactWriteError as exc:
        if not transaction_lost_race(exc):
            raise  # DynamoDB unavailable: the edge answers 503
        raise Conflict(f"api key {key_id} changed while it was being revoked; retry") from exc


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


def authenticate_cdp(api_key: str) -> str:
    """Return the workspace id for a Pipelines API key, or raise ``Unauthorized``."""
    if not api_key or len(api_key) > 200:
        raise Unauthorized()
    digest = hash_key(api_key)
    try:
        cred = CdpCredential.get(_cdp_pk(digest), "cdp")
    except DoesNotExist as exc:
        raise Unauthorized() from exc
    if not hmac.compare_digest(cred.pk, _cdp_pk(digest)):
        raise Unauthorized()
    return cred.workspace_id
