"""A campaign's states, as the App API changes them: activate, pause, resume, archive.

Going live is the store's (validate, deploy, index the trigger: ``store.go_live``); the fan-out over the
people already there that going live may ask for (a broadcast, a segment's current members, everyone's
date trigger: ``store.fans_out``) is ``broadcasts``'. Broadcasts read campaigns through ``triggers`` and
``store``, so the store cannot call them: this module, above both, does.
"""

from __future__ import annotations

from typing import Any

from nudge.campaigns import broadcasts, store


def activate(workspace_id: str, campaign_id: str) -> dict[str, Any]:
    """Draft to active, then the fan-out the trigger asks for on activation."""
    campaign = store.go_live(workspace_id, campaign_id)
    if store.fans_out(campaign, resumed=False):
        _enter_current_members(workspace_id, campaign_id)
    return campaign


def resume(workspace_id: str, campaign_id: str) -> dict[str, Any]:
    """Paused to active; a definition changed while paused is deployed as a new version first."""
    campaign = store.go_live(workspace_id, campaign_id, resumed=True)
    if store.fans_out(campaign, resumed=True):
        _enter_current_members(workspace_id, campaign_id)
    return campaign


def pause(workspace_id: str, campaign_id: str) -> dict[str, Any]:
    return store.pause(workspace_id, campaign_id)


def archive(workspace_id: str, campaign_id: str) -> dict[str, Any]:
    return store.archive(workspace_id, campaign_id)


def _enter_current_members(workspace_id: str, campaign_id: str) -> None:
    """Start the fan-out (once per activation). A function of its own so tests can stand in for it."""
    broadcasts.enter_current_members(workspace_id, campaign_id)
