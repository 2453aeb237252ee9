"""The message a campaign's send block queues for one journey, shared by the send step (one execution per
person) and ``direct_sends`` (a page of one-send journeys without executions), so both give the same
journey's message the same delivery id."""

from __future__ import annotations

from typing import Any, NamedTuple

from nudge.campaigns.definition import send_topic
from nudge.delivery import records


class JourneyRef(NamedTuple):
    """One journey: the workspace, campaign and person it is of, and its execution's name."""

    workspace_id: str
    campaign_id: str
    cio_id: str
    execution: str


def campaign_delivery(
    journey: JourneyRef,
    block: str,
    trigger: dict[str, Any],
    params: dict[str, Any],
    *,
    visit: str | None = None,
    send_at: int | None = None,
) -> records.NewDelivery:
    """The message a send block queues for one journey: its id derived from campaign, execution and block
    (a visit of a block on a cycle is its own message), so the same journey's send is one delivery
    whoever queues it (this step, run again, or ``direct_sends`` for a page of one-send journeys).
    ``params``: the block's ``channel``, ``template_id`` or inline ``content`` (a newsletter's), ``topic``
    and the ``campaign_name``; ``send_at``: a later time (a newsletter sent at each recipient's local
    time), else now."""
    workspace_id, campaign_id, cio_id, execution = journey
    cause = [workspace_id, campaign_id, execution, block]
    if visit:
        cause.append(visit)
    campaign: dict[str, Any] = {"id": campaign_id, "block": block}
    if params.get("campaign_name"):
        campaign["name"] = params["campaign_name"]
    request: dict[str, Any] = {"campaign": campaign}
    data = trigger.get("data")
    if isinstance(data, dict):
        # Templates read an event's data as {{ event.x }} and an API trigger's as {{ trigger.x }}.
        request["message_data" if trigger.get("type") in ("api", "broadcast") else "event"] = data
    if params.get("topic"):
        request["topic"] = params["topic"]
    if params.get("content"):
        request["content"] = params["content"]
        if params.get("language"):
            request["language"] = params["language"]  # what the inline content was checked in
    return records.NewDelivery(
        delivery_id=records.stable_id(*cause),
        cio_id=cio_id,
        channel=str(params["channel"]),
        source="campaign",
        request=request,
        template_id=params.get("template_id"),
        campaign_id=campaign_id,
        send_at=send_at,
    )


def single_send(campaign: dict[str, Any]) -> str | None:
    """The id of the campaign's one send block when that is its whole workflow, else None."""
    workflow = campaign.get("workflow") or {}
    start = workflow.get("start")
    block = (workflow.get("blocks") or {}).get(start) if isinstance(start, str) else None
    if isinstance(block, dict) and block.get("type") == "send" and not block.get("next"):
        return str(start)
    return None


def send_params(campaign: dict[str, Any], block_id: str) -> dict[str, Any]:
    """What ``campaign_delivery`` needs of a send block of ``campaign`` (as the compiler embeds it in the
    send step's payload): channel, template or inline content, topic, the campaign's name."""
    block = campaign["workflow"]["blocks"][block_id]
    return {
        "channel": block.get("channel"),
        "template_id": block.get("template_id"),
        "content": block.get("content"),
        "language": campaign.get("language"),
        "campaign_name": campaign.get("name"),
        "topic": send_topic(block),
    }
