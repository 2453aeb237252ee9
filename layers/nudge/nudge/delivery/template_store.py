"""Templates, layouts and snippets: a workspace's message content, stored with the deliveries.

A template is one channel's fields, each a Liquid or Jinja source (the template's ``language``) checked
when saved, so a syntax error, or a tag or filter the language does not have, is the author's 400 and
not a failed send later. Content that does not say its language is written in the workspace's default
(``settings.template_language``); content stored before languages existed has none and is Jinja.
Templates are numbered (Customer.io's transactional ids are numbers) and may carry a ``trigger_name``
that ``transactional_message_id`` can use instead.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError

from nudge import clock
from nudge.delivery import templates
from nudge.delivery.request_shapes import (
    CHANNEL,
    CONTENT_SHAPES,
    FIELDS,
    JINJA,
    LANGUAGE,
    LAYOUT_BODY,
    NAME,
    SEND_TO_UNSUBSCRIBED,
    SNIPPET_CONTENT,
    SNIPPET_NAME_SHAPE,
    SOURCE,
    SUBSCRIPTION_CHANNELS,
    TRIGGER,
    read,
)
from nudge.errors import Conflict, InvalidRequest, NotFound
from nudge.model.base import condition_failed
from nudge.model.deliveries import DeliveriesItem, Layout, Snippet, Template, TemplateCounter
from nudge.subscriptions import topics


def templates_pk(workspace_id: str) -> str:
    return f"{workspace_id}#templates"


@dataclass(frozen=True)
class StoredTemplate:
    id: str
    name: str
    channel: str
    fields: dict[str, Any]
    trigger_name: str | None
    created_at: int
    updated_at: int
    language: str = JINJA

    def to_api(self) -> dict[str, Any]:
        return {
            "id": int(self.id),
            "name": self.name,
            "channel": self.channel,
            "trigger_name": self.trigger_name,
            "language": self.language,
            **self.fields,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


def _view(item: Template) -> StoredTemplate:
    return StoredTemplate(
        item.template_id,
        item.name,
        item.channel,
        json.loads(item.body_json),
        item.trigger_name,
        int(item.created_at),
        int(item.updated_at),
        item.language or JINJA,
    )


def _language(workspace_id: str, body: dict[str, Any], stored: str | None = None) -> str:
    """The language a body asks for; else the stored one (an update), else the workspace's default."""
    language: str | None = read(LANGUAGE, body.get("language"), ("language",))
    if language is None:
        if stored is not None:
            return stored
        from nudge.delivery import settings  # MIME and SMTP come with it: only when content is saved

        return settings.load(workspace_id).template_language
    return language


def _check(key: str, source: str, language: str) -> None:
    try:
        templates.check(source, language)
    except templates.TemplateError as exc:
        raise InvalidRequest(f"{key} is not a valid template: {exc.reason}", field=key) from exc


def _parse(
    workspace_id: str, body: dict[str, Any], *, channel: str | None = None, language: str | None = None
) -> tuple[str, str, dict, Any, str]:
    name = read(NAME, body.get("name"), ("name",))
    channel = read(CHANNEL, channel or body.get("channel"), ("channel",))
    required, optional = FIELDS[channel]
    language = _language(workspace_id, body, language)
    fields: dict[str, Any] = {}
    for key in required + optional:
        value = body.get(key)
        if value is None:
            if key in required:
                raise InvalidRequest(f"{key} is required for a {channel} template", field=key)
            continue
        fields[key] = _field(workspace_id, key, value, language)
    fields.update(_subscription(workspace_id, channel, body))
    trigger = read(TRIGGER, body.get("trigger_name"), ("trigger_name",))
    return name, channel, fields, trigger, language


def _subscription(workspace_id: str, channel: str, body: dict[str, Any]) -> dict[str, Any]:
    """The template's subscription topic (stored as its number) and, for transactional sends, whether it
    still goes to people who unsubscribed (Customer.io's default: it does)."""
    fields: dict[str, Any] = {}
    if body.get("topic_id") is not None:
        if channel not in SUBSCRIPTION_CHANNELS:
            raise InvalidRequest(
                f"topic_id applies to {', '.join(sorted(SUBSCRIPTION_CHANNELS))} templates", field="topic_id"
            )
        fields["topic_id"] = topics.parse_id(topics.require(workspace_id, body["topic_id"]))
    flag = read(SEND_TO_UNSUBSCRIBED, body.get("send_to_unsubscribed"), ("send_to_unsubscribed",))
    if flag is not None:
        fields["send_to_unsubscribed"] = flag
    return fields


def _field(workspace_id: str, key: str, value: Any, language: str) -> Any:
    shape = CONTENT_SHAPES.get(key, SOURCE)
    read_value = read(shape, value, (key,))
    if key == "layout_id":
        load_layout(workspace_id, read_value)  # must exist
    elif shape is SOURCE:
        _check(key, read_value, language)
    return read_value


def draft(workspace_id: str, body: dict[str, Any]) -> StoredTemplate:
    """A template's fields checked as saving them would, without saving (a preview of unsaved content).
    Its name may be left out; its language defaults as a new template's."""
    name, channel, fields, _, language = _parse(workspace_id, {**body, "name": body.get("name") or "draft"})
    return StoredTemplate("0", name, channel, fields, None, 0, 0, language)


def _next_id(workspace_id: str) -> str:
    counter = TemplateCounter(templates_pk(workspace_id), "counter", workspace_id=workspace_id)
    counter.update(actions=[TemplateCounter.value.add(1)])
    return str(int(counter.value))


def create(workspace_id: str, body: dict[str, Any]) -> StoredTemplate:
    name, channel, fields, trigger, language = _parse(workspace_id, body)
    if trigger is not None and find_by_trigger(workspace_id, trigger) is not None:
        raise Conflict(f"trigger_name {trigger} is already used by another template")
    now = clock.now()
    template_id = _next_id(workspace_id)
    item = Template(
        templates_pk(workspace_id),
        f"t#{template_id}",
        workspace_id=workspace_id,
        template_id=template_id,
        name=name,
        channel=channel,
        body_json=json.dumps(fields),
        trigger_name=trigger,
        language=language,
        created_at=now,
        updated_at=now,
    )
    item.save()
    return _view(item)


def update(workspace_id: str, template_id: str, body: dict[str, Any]) -> StoredTemplate:
    """Replace a template's fields; its channel cannot change."""
    existing = _load_item(workspace_id, template_id)
    name, _, fields, trigger, language = _parse(
        workspace_id,
        {"name": existing.name, **body},
        channel=existing.channel,
        language=existing.language or JINJA,
    )
    if trigger is not None and trigger != existing.trigger_name:
        other = find_by_trigger(workspace_id, trigger)
        if other is not None and other.id != template_id:
            raise Conflict(f"trigger_name {trigger} is already used by another template")
    existing.name, existing.body_json, existing.trigger_name = name, json.dumps(fields), trigger
    existing.language = language
    existing.updated_at = clock.now()
    existing.save()
    return _view(existing)


def _load_item(workspace_id: str, template_id: str) -> Template:
    if not template_id.isdigit():
        raise NotFound(f"template {template_id} not found")
    try:
        return Template.get(templates_pk(workspace_id), f"t#{template_id}")
    except DoesNotExist as exc:
        raise NotFound(f"template {template_id} not found") from exc


def load(workspace_id: str, template_id: str) -> StoredTemplate:
    return _view(_load_item(workspace_id, template_id))


def delete(workspace_id: str, template_id: str) -> None:
    _load_item(workspace_id, template_id).delete()


def list_templates(workspace_id: str) -> list[StoredTemplate]:
    found = Template.query(templates_pk(workspace_id), Template.sk.startswith("t#"))
    return sorted((_view(t) for t in found if isinstance(t, Template)), key=lambda t: int(t.id))


def find_by_trigger(workspace_id: str, trigger_name: str) -> StoredTemplate | None:
    # Templates per workspace are few (tens to hundreds): one query of the partition beats an index.
    for template in list_templates(workspace_id):
        if template.trigger_name == trigger_name:
            return template
    return None


def resolve(workspace_id: str, reference: Any) -> StoredTemplate:
    """``transactional_message_id``: a template's number, or its trigger name."""
    if isinstance(reference, int) or (isinstance(reference, str) and reference.isdigit()):
        return load(workspace_id, str(reference))
    if isinstance(reference, str):
        found = find_by_trigger(workspace_id, reference)
        if found is not None:
            return found
    raise NotFound(f"transactional message {reference} not found")


# --- layouts and snippets ---------------------------------------------------------------------------


def create_layout(workspace_id: str, body: dict[str, Any]) -> dict[str, Any]:
    name, source, language = _layout_fields(workspace_id, body)
    now = clock.now()
    layout_id = secrets.token_hex(6)
    item = Layout(
        templates_pk(workspace_id),
        f"l#{layout_id}",
        workspace_id=workspace_id,
        layout_id=layout_id,
        name=name,
        body=source,
        language=language,
        created_at=now,
        updated_at=now,
    )
    item.save()
    return _layout_view(item)


def update_layout(workspace_id: str, layout_id: str, body: dict[str, Any]) -> dict[str, Any]:
    item = _layout_item(workspace_id, layout_id)
    item.name, item.body, item.language = _layout_fields(workspace_id, body, item.language or JINJA)
    item.updated_at = clock.now()
    item.save()
    return _layout_view(item)


def _layout_fields(
    workspace_id: str, body: dict[str, Any], stored: str | None = None
) -> tuple[str, str, str]:
    name = read(NAME, body.get("name"), ("name",))
    source = read(LAYOUT_BODY, body.get("body"), ("body",))
    language = _language(workspace_id, body, stored)
    _check("body", source, language)
    return name, source, language


def layout_draft(workspace_id: str, body: dict[str, Any]) -> templates.Source:
    """A layout's body checked as saving it would, without saving."""
    _, source, language = _layout_fields(workspace_id, {**body, "name": body.get("name") or "draft"})
    return templates.Source(source, language)


def _layout_item(workspace_id: str, layout_id: str) -> Layout:
    try:
        return Layout.get(templates_pk(workspace_id), f"l#{layout_id}")
    except DoesNotExist as exc:
        raise NotFound(f"layout {layout_id} not found") from exc


def _layout_view(item: Layout) -> dict[str, Any]:
    return {
        "id": item.layout_id,
        "name": item.name,
        "body": item.body,
        "language": item.language or JINJA,
        "created_at": int(item.created_at),
        "updated_at": int(item.updated_at),
    }


def load_layout(workspace_id: str, layout_id: str) -> dict[str, Any]:
    return _layout_view(_layout_item(workspace_id, layout_id))


def layout_source(workspace_id: str, layout_id: str) -> templates.Source:
    """A layout as rendering needs it: its text and language."""
    item = _layout_item(workspace_id, layout_id)
    return templates.Source(item.body, item.language or JINJA)


def delete_layout(workspace_id: str, layout_id: str) -> None:
    _layout_item(workspace_id, layout_id).delete()


def list_layouts(workspace_id: str) -> list[dict[str, Any]]:
    found = Layout.query(templates_pk(workspace_id), Layout.sk.startswith("l#"))
    return [_layout_view(item) for item in found if isinstance(item, Layout)]


def snippet_name(value: Any) -> str:
    name: str = read(SNIPPET_NAME_SHAPE, value, ("name",))
    return name


def _snippet_source(workspace_id: str, body: dict[str, Any], stored: str | None) -> tuple[str, str]:
    given = [key for key in SNIPPET_CONTENT if body.get(key) is not None]
    if not given:
        raise InvalidRequest("value must be given (the snippet's content)", field="value", reason="required")
    if len(given) == 2 and body["value"] != body["body"]:
        raise InvalidRequest("value and body are the same field: give one", field="body")
    field = given[0]
    source = read(SOURCE, body[field], (field,))
    language = _language(workspace_id, body, stored)
    _check(field, source, language)
    return source, language


def snippet_draft(workspace_id: str, body: dict[str, Any]) -> tuple[str, templates.Source]:
    """A snippet's name and content checked as saving it would, without saving."""
    name = snippet_name(body.get("name"))
    source, language = _snippet_source(workspace_id, body, None)
    return name, templates.Source(source, language)


def snippet_view(name: str, source: str, updated_at: int, language: str | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "value": source,
        "body": source,
        "language": language or JINJA,
        "updated_at": updated_at,
    }


def put_snippet(
    workspace_id: str, name: str, body: dict[str, Any], *, create_only: bool = False
) -> dict[str, Any]:
    """Create or replace a snippet; ``create_only``: 409 when the name is taken (Customer.io's POST).
    A replacement without a ``language`` keeps the stored one."""
    stored = None
    if body.get("language") is None and not create_only:
        try:
            stored = Snippet.get(templates_pk(workspace_id), f"s#{snippet_name(name)}").language or JINJA
        except DoesNotExist:
            stored = None
    source, language = _snippet_source(workspace_id, body, stored)
    item = Snippet(
        templates_pk(workspace_id),
        f"s#{snippet_name(name)}",
        workspace_id=workspace_id,
        name=name,
        body=source,
        language=language,
        updated_at=clock.now(),
    )
    try:
        item.save(condition=Snippet.sk.does_not_exist() if create_only else None)
    except PutError as exc:
        if not create_only or not condition_failed(exc):
            raise
        raise Conflict(f"snippet {name} already exists: PUT /v1/snippets replaces it") from exc
    return snippet_view(name, item.body, int(item.updated_at), item.language)


def delete_snippet(workspace_id: str, name: str) -> None:
    try:
        Snippet.get(templates_pk(workspace_id), f"s#{name}").delete()
    except DoesNotExist as exc:
        raise NotFound(f"snippet {name} not found") from exc


def _snippet_items(workspace_id: str) -> list[Snippet]:
    found = Snippet.query(templates_pk(workspace_id), Snippet.sk.startswith("s#"))
    return [item for item in found if isinstance(item, Snippet)]


def snippets(workspace_id: str) -> dict[str, templates.Source]:
    """Name -> content and its language, as templates render them."""
    return {
        item.name: templates.Source(item.body, item.language or JINJA)
        for item in _snippet_items(workspace_id)
    }


def list_snippets(workspace_id: str) -> list[dict[str, Any]]:
    """The snippets as the API answers them, by name (the sort key's order)."""
    return [
        snippet_view(item.name, item.body, int(item.updated_at), item.language)
        for item in _snippet_items(workspace_id)
    ]


def content_items(workspace_id: str) -> list[DeliveriesItem]:
    """Everything in the workspace's template partition (one query), for rendering many messages."""
    return list(DeliveriesItem.query(templates_pk(workspace_id)))
