"""The broadcast fan-out state machine: a loop of pages, deployed once per deployment (the stack in AWS,
:class:`nudge_tools.local.campaign_workflows.LocalWorkflows` locally) and shared by every workspace and
broadcast.

    Page (Task: the campaigns function, action ``broadcast_page``)
      -> Next? (Choice): done -> Done; a scheduled send not due yet -> Scheduled (Wait ``wait_seconds``)
      -> Pause (Wait ``pause_seconds``) -> Page ...

Each page starts up to ``broadcasts.PAGE`` journeys (or queues a second's worth of one-send messages,
``direct_sends``) and answers the cursor of the next, and how long to pause: as long as its journeys take
at the workspace's sending rate (``sending_rate`` in the delivery settings, 100 a second unless
changed), at least a second, and none after a page that started nothing. Why a loop and
not a Distributed Map: moto cannot run a Distributed Map or its ItemReader, so the local runtime could not
run a broadcast at all, and a page of 100 costs about three state transitions (Task, Choice, Wait), less
than a Map's per-item child executions would.

The execution's input (and every page's output) is ``{workspace_id, campaign_id, trigger_id, cursor}``
plus ``done``, ``wait_seconds`` and ``pause_seconds`` once a page has run. Standard type: a broadcast to
a large segment, or
one scheduled for later, outlives Express's five minutes.
"""

from __future__ import annotations

from typing import Any

ACTION = "broadcast_page"

# Lambda's own transient failures; anything else the page raises is a bug or a lost table, and fails the
# execution (the broadcast then stays "running" with its counts, visible through the status endpoint).
_LAMBDA_TRANSIENT = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]


def definition(function_arn: str) -> dict[str, Any]:
    """The ASL, its Task invoking the campaigns function ``function_arn``."""
    return {
        "Comment": "Nudge broadcast fan-out: one page of recipients per Task, paced by a Wait",
        "StartAt": "Page",
        "States": {
            "Page": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {
                    "FunctionName": function_arn,
                    "Payload": {
                        "action": ACTION,
                        "workspace_id.$": "$.workspace_id",
                        "campaign_id.$": "$.campaign_id",
                        "trigger_id.$": "$.trigger_id",
                        "cursor.$": "$.cursor",
                    },
                },
                "OutputPath": "$.Payload",
                "Retry": [
                    {
                        "ErrorEquals": _LAMBDA_TRANSIENT,
                        "IntervalSeconds": 2,
                        "MaxAttempts": 6,
                        "BackoffRate": 2,
                    },
                    # DynamoDB throttling surfaces as the function's error; the page is idempotent.
                    {
                        "ErrorEquals": ["States.TaskFailed"],
                        "IntervalSeconds": 5,
                        "MaxAttempts": 3,
                        "BackoffRate": 2,
                    },
                ],
                "Next": "Next?",
            },
            "Next?": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.done", "BooleanEquals": True, "Next": "Done"},
                    {"Variable": "$.wait_seconds", "NumericGreaterThan": 0, "Next": "Scheduled"},
                ],
                "Default": "Pause",
            },
            "Scheduled": {"Type": "Wait", "SecondsPath": "$.wait_seconds", "Next": "Page"},
            # As long as the page's journeys take at the workspace's sending rate (0 s after an empty page).
            "Pause": {"Type": "Wait", "SecondsPath": "$.pause_seconds", "Next": "Page"},
            "Done": {"Type": "Succeed"},
        },
    }
