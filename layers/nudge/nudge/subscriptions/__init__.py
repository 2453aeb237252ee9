"""Subscription topics, a person's choices among them, and the subscription centre's look.

Customer.io's model: a workspace's topics are numbered from 1 and each is opt-in (nobody is subscribed
until they choose it) or opt-out (everybody is until they leave it). A person's choices live on the
profile as ``cio_subscription_preferences.topics.topic_<id>`` booleans beside the global ``unsubscribed``
flag, written through identify, so segments, activities and campaigns see a change as any other profile
change. A topic the person never chose follows the topic's default.

- ``topics``: the workspace's topics (App API: ``/v1/subscription_topics``), cached briefly per process
  for the send gate.
- ``preferences``: a person's state per topic, and changing it.
- ``look``: the hosted centre's name and colours (``/v1/settings/subscription_center``).
- the App API's routes for all three are ``nudge.http.app_api.subscriptions``.

The centre page itself and its signed links are delivery's (``nudge.delivery.subscription_centre``):
they belong with the other links in messages.
"""
