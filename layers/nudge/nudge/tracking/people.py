"""People: resolve identifiers, identify (create or update), delete, suppress and unsuppress.

Writes are optimistic: read the profile, merge in memory, write back with a version condition, and
retry on a lost race. Unique identifiers (id, email, phone) are lookup items created in the same
transaction as the profile with a not-exists condition, so concurrent identifies never make two
people with one identifier.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, TransactWriteError

from nudge import clock, ids
from nudge.errors import Conflict, InvalidRequest, NotFound
from nudge.model import Device, EventItem, IdentifierLookup, Membership, Person, Relationship, Suppression
from nudge.model.base import condition_failed, plain, transaction
from nudge.model.keys import LOOKUP, PROFILE, lookup_pk, person_pk, profile_shard, suppression_pk
from nudge.model.people import PROFILE_SHARDS
from nudge.model.segments import memberships_of
from nudge.tracking import objects
from nudge.tracking.anonymous import merge_anonymous
from nudge.tracking.identifiers import PersonRef
from nudge.tracking.identify_request import PREFERENCES, IdentifyRequest
from nudge.tracking.object_refs import ObjectRef

MAX_ATTEMPTS = 5
_SUPPRESSION = "suppression"  # a suppression item's sort key


# --- batched reads (a v2 batch) -------------------------------------------------------------------

# (pk, sk) -> the lookup or suppression item read up front, or None where there was none.
_PREFETCHED: ContextVar[dict[tuple[str, str], Any] | None] = ContextVar("nudge_prefetched", default=None)
_NOT_PREFETCHED = object()


@contextmanager
def prefetched(workspace_id: str, refs: Iterable[PersonRef]) -> Iterator[None]:
    """Read the identifier lookups and suppressions of ``refs`` in a few BatchGetItem calls, instead of
    a GetItem each as ``identify`` reaches each person of a batch.

    Each prefetched answer serves the first read of its key only; later reads (a retry, the same
    identifier again in the batch) go to the table. An answer made stale by a write in between is safe
    where it can only be stale that way: a lookup read as missing that now exists fails the create's
    not-exists condition, and the retry reads it again. Writes that could make an answer stale otherwise
    (deleting, merging, suppressing) must call ``forget_prefetched`` first (``operations.apply`` does).
    """
    wanted = {r for r in refs if r.kind != "cio_id"}
    lookups = {(lookup_pk(workspace_id, r.kind, r.lookup_value), LOOKUP) for r in wanted}
    suppressions = {(suppression_pk(workspace_id, r.kind, r.lookup_value), _SUPPRESSION) for r in wanted}
    found: dict[tuple[str, str], Any] = dict.fromkeys(lookups | suppressions)
    for lookup in IdentifierLookup.batch_get(sorted(lookups)):
        found[(lookup.pk, lookup.sk)] = lookup
    for suppression in Suppression.batch_get(sorted(suppressions)):
        found[(suppression.pk, suppression.sk)] = suppression
    token = _PREFETCHED.set(found)
    try:
        yield
    finally:
        _PREFETCHED.reset(token)


def identify_refs(ref: PersonRef, req: IdentifyRequest) -> list[PersonRef]:
    """The identifiers an identify of ``ref`` with ``req`` may read."""
    refs = [ref]
    if req.new_id:
        refs.append(PersonRef("id", req.new_id))
    if req.email:
        refs.append(PersonRef("email", req.email))
    return refs


def forget_prefetched() -> None:
    answers = _PREFETCHED.get()
    if answers:
        answers.clear()


def _take_prefetched(key: tuple[str, str]) -> Any:
    """The prefetched item (or None) for ``key``, once; ``_NOT_PREFETCHED`` when there is none."""
    answers = _PREFETCHED.get()
    return _NOT_PREFETCHED if answers is None else answers.pop(key, _NOT_PREFETCHED)


# --- reading -------------------------------------------------------------------------------------


def resolve_cio_id(workspace_id: str, ref: PersonRef) -> str | None:
    if ref.kind == "cio_id":
        return ref.value
    key = (lookup_pk(workspace_id, ref.kind, ref.lookup_value), LOOKUP)
    answer = _take_prefetched(key)
    if answer is not _NOT_PREFETCHED:
        return None if answer is None else str(answer.cio_id)
    try:
        return IdentifierLookup.get(lookup_pk(workspace_id, ref.kind, ref.lookup_value), LOOKUP).cio_id
    except DoesNotExist:
        return None


def load(workspace_id: str, ref: PersonRef) -> Person | None:
    cio = resolve_cio_id(workspace_id, ref)
    if cio is None:
        return None
    try:
        return Person.get(person_pk(workspace_id, cio), PROFILE, consistent_read=True)
    except DoesNotExist:
        return None


def require(workspace_id: str, ref: PersonRef) -> Person:
    person = load(workspace_id, ref)
    if person is None:
        raise NotFound(f"person {ref} not found")
    return person


def find_or_create(workspace_id: str, ref: PersonRef) -> str | None:
    """The cio_id of the person an event, device or relationship is for, created if new.

    A known identifier costs one lookup read: the profile itself is not read. Lookups and profiles are
    written and deleted in the same transactions, so a lookup never points at a missing person.
    Returns None when the identifier is suppressed (the data is dropped on purpose).
    """
    if ref.kind == "cio_id":
        if load(workspace_id, ref) is None:
            raise NotFound(f"person {ref} not found")
        return ref.value
    cio = resolve_cio_id(workspace_id, ref)
    if cio is not None:
        return cio
    created = identify(workspace_id, ref, IdentifyRequest())
    return None if created is None else created.cio_id


def identifiers_of(person: Person) -> list[PersonRef]:
    refs = []
    if person.person_id:
        refs.append(PersonRef("id", person.person_id))
    if person.email:
        refs.append(PersonRef("email", person.email))
    if person.phone:
        refs.append(PersonRef("phone", person.phone))
    return refs


def to_view(person: Person) -> dict[str, Any]:
    """The profile as the rest of the system sees it: identifiers folded into the attributes."""
    attributes = plain(person.attributes)
    if person.person_id:
        attributes["id"] = person.person_id
    if person.email:
        attributes["email"] = person.email
    return {
        "cio_id": person.cio_id,
        "id": person.person_id,
        "email": person.email,
        "phone": person.phone,
        "attributes": attributes,
        "created_at": int(person.created_at),
        "updated_at": int(person.updated_at),
        "unsubscribed": bool(person.unsubscribed),
        "subscription_preferences": plain(person.subscription_preferences),
        "anonymous_ids": list(person.anonymous_ids or []),
    }


# --- suppression -----------------------------------------------------------------------------------


def is_suppressed(workspace_id: str, refs: Iterable[PersonRef]) -> bool:
    for ref in refs:
        if ref.kind == "cio_id":
            continue
        key = (suppression_pk(workspace_id, ref.kind, ref.lookup_value), _SUPPRESSION)
        answer = _take_prefetched(key)
        if answer is not _NOT_PREFETCHED:
            if answer is not None:
                return True
            continue
        try:
            Suppression.get(*key)
            return True
        except DoesNotExist:
            continue
    return False


def suppress(workspace_id: str, ref: PersonRef) -> None:
    """Delete the person and block every identifier they had from being re-created."""
    person = load(workspace_id, ref)
    refs = {ref} if ref.kind != "cio_id" else set()
    if person is not None:
        refs.update(identifiers_of(person))
    keys = sorted(suppression_pk(workspace_id, r.kind, r.lookup_value) for r in refs)
    now = clock.now()
    for key in keys:
        Suppression(key, _SUPPRESSION, workspace_id=workspace_id, group=keys, created_at=now).save()
    if person is not None:
        delete_person(workspace_id, person)


def unsuppress(workspace_id: str, ref: PersonRef) -> None:
    """Unblock the identifier and those suppressed with it. The profile is not restored."""
    try:
        item = Suppression.get(suppression_pk(workspace_id, ref.kind, ref.lookup_value), _SUPPRESSION)
    except DoesNotExist:
        return
    with Suppression.batch_write() as batch:
        for key in item.group:
            batch.delete(Suppression(key, _SUPPRESSION))


# --- identify --------------------------------------------------------------------------------------


def identify(workspace_id: str, ref: PersonRef, req: IdentifyRequest) -> Person | None:
    """Create or update a person from a request read and checked at the edge (``IdentifyRequest.parse``):
    what is refused here is what the stored people decide (a suppressed or taken identifier). Returns the
    person, or None when nothing was written."""
    for _ in range(MAX_ATTEMPTS):
        person = load(workspace_id, ref)
        if person is None and ref.kind != "email" and req.email:
            # Customer.io: an unknown path id whose body email matches an existing person updates that
            # person, who takes the id.
            person = load(workspace_id, PersonRef("email", req.email))
        try:
            if person is None:
                if req.update_only:
                    return None
                if ref.kind == "cio_id":
                    raise NotFound(f"person {ref} not found")
                created = _create(workspace_id, ref, req)
                if created is None:
                    return None
                person = created
            else:
                _update(workspace_id, person, ref, req)
        except _LostRace:
            continue
        _after_write(workspace_id, person, req)
        return person
    raise Conflict(f"person {ref} is being changed concurrently; retry")


class _LostRace(Exception):
    """A conditional write failed because another writer got there first: re-read and retry."""


def _after_write(workspace_id: str, person: Person, req: IdentifyRequest) -> None:
    if req.anonymous_id:
        merge_anonymous(workspace_id, person.cio_id, req.anonymous_id)
    if req.relationships is not None:
        objects.link_person(workspace_id, person.cio_id, req.relationships)


def _merge_attributes(person: Person, req: IdentifyRequest, now: int) -> None:
    """Apply attributes in ``_timestamp`` order: an attribute last written at a later time is kept."""
    ts = req.timestamp if req.timestamp is not None else now
    attributes = plain(person.attributes)
    stamps = plain(person.attribute_timestamps)

    def newer(name: str) -> bool:
        return name not in stamps or stamps[name] <= ts

    for name, value in req.attributes.items():
        if not newer(name):
            continue
        stamps[name] = ts  # kept for removals too, so an older update cannot resurrect the value
        if value is None or value == "":
            attributes.pop(name, None)
        else:
            attributes[name] = value
    if req.unsubscribed is not None and newer("unsubscribed"):
        stamps["unsubscribed"] = ts
        person.unsubscribed = req.unsubscribed
    if req.preferences and newer(PREFERENCES):
        stamps[PREFERENCES] = ts
        prefs = plain(person.subscription_preferences)
        prefs.update(req.preferences)
        person.subscription_preferences = prefs
    if req.created_at is not None:
        person.created_at = req.created_at
    if req.anonymous_id and req.anonymous_id not in (person.anonymous_ids or []):
        person.anonymous_ids = [*(person.anonymous_ids or []), req.anonymous_id]
    person.attributes = attributes
    person.attribute_timestamps = stamps
    person.updated_at = now


def _create(workspace_id: str, ref: PersonRef, req: IdentifyRequest) -> Person | None:
    refs = {ref}
    if req.new_id:
        refs.add(PersonRef("id", req.new_id))
    if req.email:
        refs.add(PersonRef("email", req.email))
    if len({r.kind for r in refs}) != len(refs):
        raise InvalidRequest(
            "the path identifier and the body's identifier of the same kind differ",
            field="email" if ref.kind == "email" else "id",
        )
    if is_suppressed(workspace_id, refs):
        return None
    now = clock.now()
    cio = ids.cio_id()
    by_kind = {r.kind: r.value for r in refs}
    person = Person(
        person_pk(workspace_id, cio),
        PROFILE,
        workspace_id=workspace_id,
        profile_shard=profile_shard(workspace_id, cio, PROFILE_SHARDS),
        cio_id=cio,
        person_id=by_kind.get("id"),
        email=by_kind.get("email"),
        phone=by_kind.get("phone"),
        created_at=req.created_at if req.created_at is not None else now,
        updated_at=now,
    )
    _merge_attributes(person, req, now)
    try:
        with transaction(Person) as tx:
            tx.save(person, condition=Person.pk.does_not_exist())
            for r in refs:
                lookup = IdentifierLookup(
                    lookup_pk(workspace_id, r.kind, r.lookup_value),
                    LOOKUP,
                    workspace_id=workspace_id,
                    cio_id=cio,
                )
                tx.save(lookup, condition=IdentifierLookup.pk.does_not_exist())
    except TransactWriteError as exc:
        # Another identify created one of these identifiers first: resolve again and update instead.
        raise _LostRace() from exc
    return person


def _update(workspace_id: str, person: Person, ref: PersonRef, req: IdentifyRequest) -> None:
    adds: list[PersonRef] = []
    removes: list[PersonRef] = []
    wanted_id = req.new_id or (ref.value if ref.kind == "id" else None)
    if wanted_id and wanted_id != person.person_id:
        adds.append(PersonRef("id", wanted_id))
        if person.person_id:
            removes.append(PersonRef("id", person.person_id))
        person.person_id = wanted_id
    wanted_email = req.email or (ref.value if ref.kind == "email" else None)
    if wanted_email and (person.email or "").lower() != wanted_email.lower():
        adds.append(PersonRef("email", wanted_email))
        if person.email:
            removes.append(PersonRef("email", person.email))
        person.email = wanted_email
    elif wanted_email and person.email != wanted_email:
        person.email = wanted_email  # same address, new capitalisation: no lookup change
    if ref.kind == "phone" and person.phone != ref.value:
        adds.append(ref)
        if person.phone:
            removes.append(PersonRef("phone", person.phone))
        person.phone = ref.value
    if adds and is_suppressed(workspace_id, adds):
        raise InvalidRequest(f"identifier {adds[0].value} is suppressed", field=adds[0].kind)
    _merge_attributes(person, req, clock.now())
    if not adds:
        if not save_if_unchanged(person):
            raise _LostRace()
        return
    try:
        with transaction(Person) as tx:
            tx.save(person)
            for r in adds:
                tx.save(
                    IdentifierLookup(
                        lookup_pk(workspace_id, r.kind, r.lookup_value),
                        LOOKUP,
                        workspace_id=workspace_id,
                        cio_id=person.cio_id,
                    ),
                    condition=IdentifierLookup.pk.does_not_exist(),
                )
            for r in removes:
                tx.delete(IdentifierLookup(lookup_pk(workspace_id, r.kind, r.lookup_value), LOOKUP))
    except TransactWriteError as exc:
        taken = [r for r in adds if resolve_cio_id(workspace_id, r) not in (None, person.cio_id)]
        if taken:
            raise Conflict(f"{taken[0].kind} {taken[0].value} already belongs to another person") from exc
        raise _LostRace() from exc


def save_if_unchanged(person: Person) -> bool:
    """Write the person back if nobody changed it since it was read (the version attribute's
    condition). False when another writer won, so the caller re-reads and retries."""
    try:
        person.save()
    except PutError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


# --- delete ----------------------------------------------------------------------------------------


def delete(workspace_id: str, ref: PersonRef) -> None:
    """Delete the person and everything stored under them. Deleting nobody succeeds (idempotent)."""
    person = load(workspace_id, ref)
    if person is not None:
        delete_person(workspace_id, person)


def _release_device_token(workspace_id: str, cio_id: str, token: str) -> None:
    """Drop the token's owner lookup unless it already moved to someone else (a merge re-points it)."""
    key = lookup_pk(workspace_id, "device", token)
    try:
        IdentifierLookup(key, LOOKUP).delete(condition=IdentifierLookup.cio_id == cio_id)
    except DeleteError as exc:
        if not condition_failed(exc):
            raise


def delete_person(workspace_id: str, person: Person) -> None:
    # Dependents go first and the profile last, so a retry after a crash finds the person and finishes.
    pk = person.pk
    with Device.batch_write() as batch:
        for device in Device.query(pk, Device.sk.startswith("device#")):
            batch.delete(device)
            _release_device_token(workspace_id, person.cio_id, device.device_id)
    with EventItem.batch_write() as batch:
        for event in EventItem.query(pk, attributes_to_get=["pk", "sk"]):
            batch.delete(event)
    with Relationship.batch_write() as batch:
        for rel in Relationship.by_person.query(pk):
            batch.delete(rel)
    with Membership.batch_write() as batch:
        for member in memberships_of(pk):
            batch.delete(member)
    with transaction(Person) as tx:
        tx.delete(person)
        for r in identifiers_of(person):
            tx.delete(IdentifierLookup(lookup_pk(workspace_id, r.kind, r.lookup_value), LOOKUP))
        for anonymous_id in person.anonymous_ids or []:
            tx.delete(IdentifierLookup(lookup_pk(workspace_id, "anonymous", anonymous_id), LOOKUP))


def link_object(workspace_id: str, ref: ObjectRef | str, targets: objects.PeopleLinks, *, add: bool) -> None:
    """Relate one object to people (creating the object, and people, that do not exist yet)."""
    resolved = objects.ensure_object(workspace_id, ref) if add else objects.resolve(workspace_id, ref)
    if resolved is None:
        return
    for person_ref, attributes in targets:
        if add:
            cio = find_or_create(workspace_id, person_ref)
            if cio is not None:
                objects.relate(workspace_id, cio, resolved, attributes)
        else:
            cio = resolve_cio_id(workspace_id, person_ref)
            if cio is not None:
                objects.unrelate(workspace_id, cio, resolved)
