"""Exports over the App API, as Customer.io has them: ``POST /v1/exports/customers`` and
``/v1/exports/deliveries`` start one (answered at once, ``pending``), ``GET /v1/exports`` and
``GET /v1/exports/{export_id}`` report it, ``GET /v1/exports/{export_id}/download`` answers a presigned
link to its CSV once it is done. The work runs in the exports worker (``nudge.exports.worker``).
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import unquote

from botocore.exceptions import BotoCoreError, ClientError

from nudge import clock
from nudge.campaigns import store as campaigns
from nudge.errors import Conflict, NotFound
from nudge.exports import files, queue, requests, store
from nudge.http.routing import Request, Response, Route
from nudge.model.exports import Export
from nudge.segments import definitions
from nudge.tracking.limits import parse_json_object

BODY_LIMIT = 400_000


def _start(req: Request, request: requests.ExportRequest) -> Response:
    export = store.create(
        req.workspace_id, request, lambda export_id: files.object_key(req.workspace_id, export_id)
    )
    try:
        queue.get().send(req.workspace_id, int(export.export_id))
    except (ClientError, BotoCoreError):
        # Not queued, it would stay pending for good: failed, and the answer is a 503 to retry.
        store.fail(export, "the export could not be queued; start it again")
        raise
    return 200, {"export": store.view(export)}


def _customers(req: Request) -> Response:
    request = requests.customers(parse_json_object(req.body, limit=BODY_LIMIT))
    for segment_id in request.segments():
        definitions.load(req.workspace_id, segment_id)  # another workspace's segment is a 404
    return _start(req, request)


def _deliveries(req: Request) -> Response:
    body = parse_json_object(req.body, limit=BODY_LIMIT)
    request = requests.deliveries(body, clock.now())
    named = request.campaign_id
    if named is not None:
        newsletter = None
        if body.get("newsletter_id") is not None:
            newsletter = _newsletter_campaign(req.workspace_id, named)
        if newsletter is not None:
            request = replace(request, campaign_id=newsletter)
        else:  # a newsletter_id naming no newsletter names a campaign (Nudge's one-off API sends)
            campaigns.get(req.workspace_id, named)  # another workspace's campaign is a 404
    return _start(req, request)


def _newsletter_campaign(workspace_id: str, newsletter_id: str) -> str | None:
    """The campaign id a newsletter's messages are filed under (``nl-<id>``), or None: no such newsletter."""
    # Imported here: the newsletters module brings the template engines, which no other export needs.
    from nudge.campaigns import newsletters

    try:
        newsletters.load(workspace_id, newsletter_id)
    except NotFound:
        return None
    return newsletters.campaign_id(newsletter_id.removeprefix(newsletters.PREFIX))


def _list(req: Request) -> Response:
    return 200, {"exports": [store.view(e) for e in store.list_exports(req.workspace_id)]}


def _load(req: Request) -> Export:
    return store.load(req.workspace_id, store.parse_id(unquote(req.params["export_id"])))


def _get(req: Request) -> Response:
    return 200, {"export": store.view(_load(req))}


def _download(req: Request) -> Response:
    export = _load(req)
    if export.status == store.FAILED:
        raise Conflict(f"export {int(export.export_id)} failed: {export.reason}; start a new export")
    if export.status != store.DONE:
        raise Conflict(
            f"export {int(export.export_id)} is {export.status} ({int(export.rows)} rows so far): poll "
            f"GET /v1/exports/{int(export.export_id)} until its status is done"
        )
    store.count_download(export)
    url = files.download_url(str(export.object_key), f"{export.export_type}-{int(export.export_id)}.csv")
    return 200, {"url": url}


EXPORT = "/v1/exports/{export_id}"
ROUTES: tuple[Route, ...] = (
    Route("GET", "/v1/exports", _list, "List exports, newest first"),
    Route(
        "POST",
        "/v1/exports/customers",
        _customers,
        "Export people matching a filter to CSV (in the background)",
        body_limit=BODY_LIMIT,
        body_schema=requests.CUSTOMERS_SCHEMA,
    ),
    Route(
        "POST",
        "/v1/exports/deliveries",
        _deliveries,
        "Export deliveries of a campaign or newsletter to CSV (in the background)",
        body_limit=BODY_LIMIT,
        body_schema=requests.DELIVERIES_SCHEMA,
    ),
    Route("GET", EXPORT, _get, "An export's state and row count"),
    Route("GET", EXPORT + "/download", _download, "A link to an export's CSV, valid 15 minutes (when done)"),
)
