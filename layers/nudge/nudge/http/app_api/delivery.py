"""The App API's delivery routes: transactional sends, templates, layouts, snippets, message history
and the workspace's delivery settings.

The delivery modules (jinja2, MIME, SMTP) are imported by the operations that use them, not with the
route table: most App API invocations never render a template, and every cold start would pay for them.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from nudge.delivery import request_shapes as shapes
from nudge.delivery.channel_names import IN_APP, PUSH, SMS
from nudge.errors import InvalidRequest, NotFound
from nudge.http.routing import Request, Response, Route
from nudge.roles import Role
from nudge.tracking.identifiers import from_map, from_typed
from nudge.tracking.limits import page_limit, parse_json_object

MESSAGES_PAGE_DEFAULT = 50
MESSAGES_PAGE_MAX = 1000
# Attachments are sent base64-encoded (4/3 of their size) beside the message's own fields.
SEND_BODY_LIMIT = shapes.ATTACHMENTS_MAX_BYTES * 2
# What a send route's summary calls a channel's message, where not the channel's own name.
_MESSAGE_NOUNS = {SMS: "SMS", PUSH: "push notification", IN_APP: "in-app message"}


def _body(req: Request, limit: int = 1_000_000) -> dict[str, Any]:
    return parse_json_object(req.body, limit=limit)


def _send(channel: str) -> Any:
    def run(req: Request) -> Response:
        from nudge.delivery import transactional

        body = _body(req, limit=SEND_BODY_LIMIT)
        return 200, transactional.send(
            req.workspace_id,
            channel,
            body,
            req.headers.get("idempotency-key"),
            correlation_id=req.request_id,
        )

    return run


def _template_id(req: Request) -> str:
    return unquote(req.params["template_id"])


def _list_templates(req: Request) -> Response:
    from nudge.delivery import template_store

    return 200, {"templates": [t.to_api() for t in template_store.list_templates(req.workspace_id)]}


def _create_template(req: Request) -> Response:
    from nudge.delivery import template_store

    return 200, {"template": template_store.create(req.workspace_id, _body(req)).to_api()}


def _get_template(req: Request) -> Response:
    from nudge.delivery import template_store

    return 200, {"template": template_store.load(req.workspace_id, _template_id(req)).to_api()}


def _update_template(req: Request) -> Response:
    from nudge.delivery import template_store

    return 200, {"template": template_store.update(req.workspace_id, _template_id(req), _body(req)).to_api()}


def _delete_template(req: Request) -> Response:
    from nudge.delivery import template_store

    template_store.delete(req.workspace_id, _template_id(req))
    return 204, None


def _preview(req: Request) -> Response:
    """Render a template for a person without sending it."""
    from nudge.delivery import compose, template_store, templates
    from nudge.delivery import settings as delivery_settings
    from nudge.tracking import people

    body = _body(req)
    template = template_store.load(req.workspace_id, _template_id(req))
    person = people.load(req.workspace_id, from_map(body.get("identifiers"), allow_phone=False))
    if person is None:
        raise NotFound("person not found")
    message_data = body.get("message_data") or {}
    if not isinstance(message_data, dict):
        raise InvalidRequest("message_data must be an object", field="message_data")
    layout_id = template.fields.get("layout_id")
    job = compose.Job(
        req.workspace_id,
        "preview",
        template.channel,
        "transactional",
        {"message_data": message_data, "tracked": False},
        person,
        template,
        template_store.layout_source(req.workspace_id, layout_id) if layout_id else None,
        template_store.snippets(req.workspace_id),
        delivery_settings.load(req.workspace_id),
    )
    try:
        composed = compose.compose(job)
    except templates.TemplateError as exc:
        raise InvalidRequest(f"the template does not render: {exc.reason}", field="template") from exc
    return 200, {
        "preview": {"channel": template.channel, "to": _shown(composed.address), **composed.retained}
    }


def _preview_draft(req: Request) -> Response:
    from nudge.delivery import draft_preview

    return 200, {"preview": draft_preview.preview(req.workspace_id, _body(req))}


def _shown(address: Any) -> Any:
    return address if isinstance(address, str) or address is None else len(address)


def _layout_id(req: Request) -> str:
    return unquote(req.params["layout_id"])


def _list_layouts(req: Request) -> Response:
    from nudge.delivery import template_store

    return 200, {"layouts": template_store.list_layouts(req.workspace_id)}


def _create_layout(req: Request) -> Response:
    from nudge.delivery import template_store

    return 200, {"layout": template_store.create_layout(req.workspace_id, _body(req))}


def _get_layout(req: Request) -> Response:
    from nudge.delivery import template_store

    return 200, {"layout": template_store.load_layout(req.workspace_id, _layout_id(req))}


def _update_layout(req: Request) -> Response:
    from nudge.delivery import template_store

    return 200, {"layout": template_store.update_layout(req.workspace_id, _layout_id(req), _body(req))}


def _delete_layout(req: Request) -> Response:
    from nudge.delivery import template_store

    template_store.delete_layout(req.workspace_id, _layout_id(req))
    return 204, None


def _list_snippets(req: Request) -> Response:
    from nudge.delivery import template_store

    return 200, {"snippets": template_store.list_snippets(req.workspace_id)}


def _put_snippet(req: Request) -> Response:
    """Nudge's first form: the name in the path."""
    from nudge.delivery import template_store

    name = unquote(req.params["name"])
    return 200, {"snippet": template_store.put_snippet(req.workspace_id, name, _body(req))}


def _upsert_snippet(create_only: bool) -> Any:
    """Customer.io's form (``customerio-node``'s createSnippet and updateSnippet): the name in the body."""

    def run(req: Request) -> Response:
        from nudge.delivery import template_store

        body = _body(req)
        name = template_store.snippet_name(body.get("name"))
        return 200, {
            "snippet": template_store.put_snippet(req.workspace_id, name, body, create_only=create_only)
        }

    return run


def _delete_snippet(req: Request) -> Response:
    from nudge.delivery import template_store

    template_store.delete_snippet(req.workspace_id, unquote(req.params["name"]))
    return 204, None


def _customer_messages(req: Request) -> Response:
    from nudge.delivery import records
    from nudge.tracking import people

    ref = from_typed(req.query.get("id_type", "id"), unquote(req.params["customer_id"]), "customer_id")
    person = people.load(req.workspace_id, ref)
    if person is None:
        raise NotFound(f"customer {ref.value} not found")
    limit = page_limit(req.query.get("limit"), default=MESSAGES_PAGE_DEFAULT, maximum=MESSAGES_PAGE_MAX)
    found, cursor = records.for_person(
        req.workspace_id, person.cio_id, limit=limit, start=req.query.get("start")
    )
    return 200, {"messages": found, "next": cursor or ""}


def _message(req: Request) -> Response:
    from nudge.delivery import records

    delivery = records.load(req.workspace_id, unquote(req.params["delivery_id"]))
    if delivery is None:
        raise NotFound(f"message {req.params['delivery_id']} not found")
    return 200, {"message": records.to_api(delivery)}


def _messages(req: Request) -> Response:
    from nudge.delivery import message_list, records

    filters = message_list.Filters.parse(req.query)
    limit = page_limit(req.query.get("limit"), default=MESSAGES_PAGE_DEFAULT, maximum=MESSAGES_PAGE_MAX)
    found = message_list.list_messages(req.workspace_id, filters, limit=limit, start=req.query.get("start"))
    return 200, {"messages": [records.to_api(item) for item in found.entries], "next": found.next or ""}


def _archived_message(req: Request) -> Response:
    from nudge.delivery import message_list

    return 200, {
        "archived_message": message_list.archived(req.workspace_id, unquote(req.params["delivery_id"]))
    }


def _centre_link(req: Request) -> Response:
    from nudge.delivery import centre_links

    ref = from_typed(req.query.get("id_type", "id"), unquote(req.params["customer_id"]), "customer_id")
    return 200, centre_links.for_person(req.workspace_id, ref)


def _get_settings(req: Request) -> Response:
    from nudge.delivery import settings as delivery_settings

    settings = delivery_settings.load(req.workspace_id)
    return 200, {"delivery": settings.to_api(with_secrets=req.role >= Role.ADMIN)}


def _put_settings(req: Request) -> Response:
    from nudge.delivery import settings as delivery_settings

    return 200, {"delivery": delivery_settings.update(req.workspace_id, _body(req)).to_api()}


TEMPLATE = "/v1/templates/{template_id}"
LAYOUT = "/v1/layouts/{layout_id}"
ROUTES: tuple[Route, ...] = (
    *(
        Route(
            "POST",
            f"/v1/send/{channel}",
            _send(channel),
            f"Send a transactional {_MESSAGE_NOUNS.get(channel, channel)}",
            body_limit=SEND_BODY_LIMIT,
            body_schema=shapes.send_schema(channel),
        )
        for channel in shapes.SEND_CHANNELS
    ),
    Route("GET", "/v1/templates", _list_templates, "List templates"),
    Route("POST", "/v1/templates", _create_template, "Create a template", body_schema=shapes.TEMPLATE_SCHEMA),
    Route("GET", TEMPLATE, _get_template, "Get a template"),
    Route(
        "PUT",
        TEMPLATE,
        _update_template,
        "Replace a template's fields",
        body_schema=shapes.TEMPLATE_UPDATE_SCHEMA,
    ),
    Route("DELETE", TEMPLATE, _delete_template, "Delete a template"),
    Route(
        "POST",
        TEMPLATE + "/preview",
        _preview,
        "Render a template for a person, without sending",
        role=Role.VIEWER,  # renders, stores nothing
        body_schema=shapes.PREVIEW_SCHEMA,
    ),
    Route(
        "POST",
        "/v1/templates/preview",
        _preview_draft,
        "Render content not saved yet (a template, and a layout or snippet draft) for a person",
        role=Role.VIEWER,  # renders, stores nothing
        body_schema=shapes.DRAFT_PREVIEW_SCHEMA,
    ),
    Route("GET", "/v1/layouts", _list_layouts, "List layouts"),
    Route(
        "POST",
        "/v1/layouts",
        _create_layout,
        "Create a layout ({{ content }} places the message)",
        body_schema=shapes.LAYOUT_SCHEMA,
    ),
    Route("GET", LAYOUT, _get_layout, "Get a layout"),
    Route("PUT", LAYOUT, _update_layout, "Replace a layout", body_schema=shapes.LAYOUT_SCHEMA),
    Route("DELETE", LAYOUT, _delete_layout, "Delete a layout"),
    Route("GET", "/v1/snippets", _list_snippets, "List snippets"),
    Route(
        "PUT",
        "/v1/snippets",
        _upsert_snippet(create_only=False),
        "Create or replace a snippet named in the body (Customer.io's form)",
        body_schema=shapes.SNIPPET_SCHEMA,
    ),
    Route(
        "POST",
        "/v1/snippets",
        _upsert_snippet(create_only=True),
        "Create a snippet named in the body; 409 when the name is taken",
        body_schema=shapes.SNIPPET_SCHEMA,
    ),
    Route(
        "PUT",
        "/v1/snippets/{name}",
        _put_snippet,
        "Create or replace a snippet",
        body_schema=shapes.SNIPPET_CONTENT_SCHEMA,
    ),
    Route("DELETE", "/v1/snippets/{name}", _delete_snippet, "Delete a snippet"),
    Route(
        "GET", "/v1/customers/{customer_id}/messages", _customer_messages, "A person's messages, newest first"
    ),
    Route(
        "GET",
        "/v1/messages",
        _messages,
        "The workspace's messages newest first (type, metric, campaign_id, start / limit / next)",
    ),
    Route("GET", "/v1/messages/{delivery_id}", _message, "One message's state and metrics"),
    Route(
        "GET",
        "/v1/messages/{delivery_id}/archived_message",
        _archived_message,
        "A message's content as it was sent, where retained",
    ),
    Route(
        "GET",
        "/v1/subscription_center/{customer_id}/token",
        _centre_link,
        "A signed link to a person's subscription centre ({token, url}), to hand out outside a message",
        role=Role.AUTHOR,  # the link changes the person's subscriptions: more than a read
    ),
    Route("GET", "/v1/settings/delivery", _get_settings, "The workspace's delivery settings"),
    Route(
        "PUT",
        "/v1/settings/delivery",
        _put_settings,
        "Change sender, SMTP server, message limit (admin)",
        role=Role.ADMIN,
        body_schema=shapes.SETTINGS_SCHEMA,
    ),
)
