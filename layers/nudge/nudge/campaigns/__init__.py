"""Campaigns: behaviour-triggered, multi-step journeys, each run as one Step Functions execution per
person per entry.

Modules (one concern each):
- ``definition``: the campaign definition's JSON format (below), validated into typed form with errors
  that name the JSON path; declared once as shapes (``nudge.shapes``) that also write the JSON Schema the
  App API serves.
- ``store``: create, read, update, delete; activate, pause, resume, archive; the trigger index.
- ``compiler``: a validated workflow to Amazon States Language.
- ``steps``: what the workflow's Task states do (the ``campaigns`` function): send through the delivery
  pipeline, evaluate a condition, pick a branch or cohort, compute a time-window wait, set an attribute,
  change a manual segment, re-check filters, exit and goal after a wait.
- ``triggers``: from data changes (the evaluate function's consumers) and the date sweep to executions.
- ``executions``: starting executions (names derived from campaign, person and trigger, so duplicates
  are impossible), the frequency rules, journeys, and the Step Functions port.
- ``broadcasts``: API-triggered and one-time broadcasts to a segment.
- ``direct_sends``: a page of a one-send campaign's broadcast queued as deliveries, no execution per
  person; ``messages``: the message a send block queues (shared with the send step, so ids agree).
- ``metrics``: entered, in progress, waiting, exited, converted, and per block sent, bounced, opened.

The definition (``POST /v1/campaigns`` body ``{"campaign": {...}}``)::

    {
      "name": "Welcome",
      "trigger": {"type": "event", "name": "signed_up", "filters": <condition on the event's data>}
               | {"type": "segment_entry", "segment_id": "..."}
               | {"type": "segment_exit", "segment_id": "..."}
               | {"type": "attribute_change", "attribute": "plan", "to": "pro"}      # "to" optional
               | {"type": "date_attribute", "attribute": "trial_end", "offset_seconds": -259200}
               | {"type": "api"}                                                 # API-triggered broadcast
               | {"type": "broadcast", "segment_id": "...", "send_at": 1760000000},  # send_at optional
      "filters": <segment conditions, the segments' language> | null,          # audience filter
      "workflow": {"start": "b1", "blocks": {
          "b1": {"type": "send", "channel": "email|sms|push|in_app|webhook", "template_id": "1",
                 "next": "b2"},
          "b2": {"type": "delay", "seconds": 86400, "next": "b3"},
          "b3": {"type": "branch", "condition": <condition>, "true": "b4", "false": "b5"},
          "b4": {"type": "wait_until", "condition": <condition>, "max_seconds": 604800,
                 "on_timeout": "continue|exit", "next": "b6"},
          "b5": {"type": "time_window", "hours": [9, 17], "days": ["mon", "tue", "wed", "thu", "fri"],
                 "next": "b6"},
          "b6": {"type": "multi_split", "branches": [{"condition": <condition>, "next": "b7"}],
                 "default": "b8"},
          "b7": {"type": "random_split",
                 "branches": [{"percent": 50, "next": "b8"}, {"percent": 50, "next": "b9"}]},
          "b8": {"type": "set_attribute", "attribute": "onboarded", "value": true, "next": "b9"},
          "b9": {"type": "segment", "action": "add|remove", "segment_id": "<manual segment>", "next": "b10"},
          "b10": {"type": "exit"}
      }},
      "settings": {
        "frequency": {"type": "once"} | {"type": "every_match"} | {"type": "interval", "seconds": 2592000},
        "exit": "when_unmatched" | "on_goal" | "at_end",
        "goal": {"event": "purchased"} | {"segment_id": "..."} | null, "goal_window_seconds": 604800,
        "audience": "current_and_future" | "future_only",
        "timezone": "UTC"                       # time windows' fallback when a person has no timezone
      }
    }

A block without ``next`` ends the journey. A condition is a segment condition (``nudge.segments``), so
workflows branch on exactly what segments can express.
"""
