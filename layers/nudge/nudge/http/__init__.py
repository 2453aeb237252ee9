"""The HTTP edge, above the domain packages: every route table and what they share.

- ``routing``: what a route table is made of (``Request``, ``Route``, ``Caller``); ``lambda_http``
  registers a table with a Powertools resolver; ``edge`` reads credentials and shapes error bodies.
- ``track_api`` (the Track API's table), ``track_operations`` (its v2 operations, one by one or in a
  batch), ``track_delivery`` (client metrics and the in-app inbox), ``pipelines_api`` and
  ``pipelines_calls`` (the Pipelines API and its calls as the Track API calls they stand for),
  ``track_openapi`` (their OpenAPI document).
- ``app_api``: the App API's table (``app_api.routes``), one module per resource, and its document.
- ``links``: the public links in messages (open pixel, click, unsubscribe, subscription centre).

Each operation parses its request and hands it to the domain packages below; none of them imports this
package (``make lint``'s import contract).
"""
