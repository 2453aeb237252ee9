"""Key construction. Every partition key starts with the workspace id, so no query crosses workspaces."""

from __future__ import annotations

PROFILE = "profile"
LOOKUP = "lookup"


def person_pk(workspace_id: str, cio_id: str) -> str:
    return f"{workspace_id}#p#{cio_id}"


def profile_shard(workspace_id: str, cio_id: str, shards: int) -> str:
    """Which of the workspace's profile-index keys a person sits under (stable: from the cio_id)."""
    return f"{workspace_id}#{int(cio_id[-4:], 16) % shards}"


def lookup_pk(workspace_id: str, kind: str, value: str) -> str:
    """Unique-identifier index item: ``kind`` is id, email (lower-cased value) or phone."""
    return f"{workspace_id}#{kind}#{value}"


def anonymous_pk(workspace_id: str, anonymous_id: str) -> str:
    return f"{workspace_id}#a#{anonymous_id}"


def suppression_pk(workspace_id: str, kind: str, value: str) -> str:
    return f"{workspace_id}#sup#{kind}#{value}"


def device_sk(device_id: str) -> str:
    return f"device#{device_id}"


def event_time_key(timestamp: int, event_id: str) -> str:
    # Zero-padded seconds sort lexically in time order; the event id breaks ties.
    return f"{timestamp:012d}#{event_id}"


def object_pk(workspace_id: str, object_type_id: str, object_id: str) -> str:
    return f"{workspace_id}#o#{object_type_id}#{object_id}"


def object_lookup_pk(workspace_id: str, cio_object_id: str) -> str:
    return f"{workspace_id}#oid#{cio_object_id}"


def object_key(object_type_id: str, object_id: str) -> str:
    return f"{object_type_id}#{object_id}"


def segments_pk(workspace_id: str) -> str:
    """The partition holding every segment definition of a workspace (sort key: the segment id)."""
    return f"{workspace_id}#segments"


def segment_pk(workspace_id: str, segment_id: str) -> str:
    """A segment's members."""
    return f"{workspace_id}#s#{segment_id}"


def member_sk(cio_id: str) -> str:
    return f"m#{cio_id}"


def dependents_pk(workspace_id: str, key: str) -> str:
    return f"{workspace_id}#dep#{key}"


def recheck_pk(workspace_id: str, cio_id: str, segment_id: str) -> str:
    return f"{workspace_id}#recheck#{cio_id}#{segment_id}"


def relationship_sk(cio_id: str) -> str:
    return f"rel#{cio_id}"


# --- the workspaces table (``model.workspaces``) and the console's (``model.console``) --------------------
# A workspace's own items (the workspace, its keys, its members in the console table) share one
# partition, so each list is one Query.


def workspace_pk(workspace_id: str) -> str:
    return f"ws#{workspace_id}"


WORKSPACE_SK = "workspace"
CONSOLE_MEMBER_PREFIX = "member#"


def console_member_sk(email: str) -> str:
    """A console user's membership under ``workspace_pk`` (not a segment's member: ``member_sk``)."""
    return f"{CONSOLE_MEMBER_PREFIX}{email}"


def user_pk(email: str) -> str:
    """A console user's memberships (sort key ``workspace_pk``: the workspace they are a member of)."""
    return f"user#{email}"


def session_pk(token_hash: str) -> str:
    return f"session#{token_hash}"


SESSION_SK = "session"
