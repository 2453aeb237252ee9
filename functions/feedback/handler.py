"""Feedback Lambda: SES events (deliveries, bounces, complaints, opens, clicks) published by the
configuration set to an SNS topic this function subscribes to.

Every notification's SNS signature is verified before anything is read from it, and so is its topic:
only Nudge's own SES event topic (``NUDGE_FEEDBACK_TOPIC_ARN``) is listened to, since SNS signs every
account's topics alike. An unsigned, forged or foreign message is refused (and reported as a failure, so
it is visible); without the setting every record is refused. Records are processed one by one; a
record that cannot be attributed to a delivery is logged and skipped, never retried forever. Each event
applied is counted (``nudge.delivery.telemetry``: bounces, complaints, deliveries, ... as CloudWatch
metrics, written to the log as EMF at the end of the invocation).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from nudge import composition
from nudge.delivery import feedback, ses_events, sns_verify, telemetry
from nudge.settings import FEEDBACK_TOPIC_ENV, get_settings

# Delivery outcomes reach campaign counters and metering; nearly every invocation reports one, so the
# subscribers are imported in the init, not in the first message (nudge.composition).
composition.connect(load=True)

logger = Logger(service="feedback")
metrics = telemetry.metrics()
counts = telemetry.MetricCounts()


TOPIC_ENV = FEEDBACK_TOPIC_ENV


class RejectedNotifications(Exception):
    """Some records failed verification: the invocation fails so the DLQ and alarms see it."""


class MissingTopic(RuntimeError):
    """The function was deployed without the topic it listens to: nothing can be accepted."""


def feedback_topic() -> str:
    topic = get_settings().feedback_topic_arn
    if not topic:
        raise MissingTopic(f"{TOPIC_ENV} is not set: no SNS message can be accepted")
    return topic


# log_metrics flushes what publish left (the last channel's counts) as the invocation ends, even when
# it raises.
@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    try:
        return _apply(ses_events.SnsRecord.parse_event(event))
    finally:
        counts.publish(metrics)


def _apply(records: list[ses_events.SnsRecord]) -> dict[str, int]:
    applied = rejected = skipped = 0
    topic = feedback_topic()
    for record in records:
        try:
            sns_verify.verify(record.notification, topic_arn=topic)
        except sns_verify.InvalidNotification as exc:
            logger.warning("sns notification rejected", reason=str(exc), message_id=record.message_id)
            rejected += 1
            continue
        try:
            parsed = ses_events.parse(record.message)
        except ses_events.UnusableEvent as exc:
            logger.warning("ses event skipped", reason=str(exc), message_id=record.message_id)
            skipped += 1
            continue
        if parsed is None:
            skipped += 1
            continue
        feedback.from_ses(parsed)
        counts.feedback(parsed.kind)
        logger.info("ses feedback applied", kind=parsed.kind, delivery_id=parsed.delivery_id)
        applied += 1
    if rejected:
        raise RejectedNotifications(f"{rejected} notification(s) failed signature verification")
    return {"applied": applied, "skipped": skipped}
