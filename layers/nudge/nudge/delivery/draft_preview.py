"""Rendering content that is not saved yet, for a person: the console's live preview.

A draft template (and, optionally, a draft layout or snippet standing in for the stored one) is checked
exactly as saving it would be, then composed as a send would compose it, untracked, and nothing is
stored. Every refusal names the field it concerns, under the part of the body it came from
(``/template/body``, ``/layout/body``, ``/snippet/value``), so an editor can show it where it was typed:
a syntax error, an unknown tag or filter, a render error, and a snippet the content names that does not
exist (which a send would render as nothing).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from nudge.delivery import compose, template_store, templates
from nudge.delivery import settings as delivery_settings
from nudge.errors import InvalidRequest, NotFound
from nudge.tracking import people
from nudge.tracking.identifiers import from_map

# Channels whose address a request may give (``to``): a person without one is previewed at this one.
CHANNELS_TAKING_TO = ("email", "sms")
NO_ADDRESS = "no-address@example.invalid"
# {{ snippets.name }} and {{ snippets['name'] }} / {{ snippets["name"] }}, in either language.
_SNIPPET_REFERENCE = re.compile(r"""snippets\s*(?:\.\s*([A-Za-z_]\w*)|\[\s*['"]([^'"]+)['"]\s*\])""")


def _under(part: str, exc: InvalidRequest) -> InvalidRequest:
    return InvalidRequest(
        *exc.messages, field=f"{part}/{exc.field}" if exc.field else part, reason=exc.reason
    )


def _object(body: dict[str, Any], key: str, *, required: bool) -> dict[str, Any] | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, dict):
        raise InvalidRequest(f"{key} must be an object", field=key)
    return value


def _references(source: Any) -> Iterator[str]:
    if isinstance(source, str):
        for match in _SNIPPET_REFERENCE.finditer(source):
            yield match.group(1) or match.group(2)


def _check_snippets_exist(
    template: template_store.StoredTemplate, layout: templates.Source | None, known: Mapping[str, Any]
) -> None:
    places = [(f"template/{key}", value) for key, value in template.fields.items()]
    if layout is not None:
        places.append(("layout/body", layout.text))
    for field, source in places:
        for name in _references(source):
            if name not in known:
                raise InvalidRequest(
                    f"there is no snippet named {name}: a send would show nothing", field=field
                )


def _render_field(reason: str, draft_snippet: str | None) -> str:
    """Which part of the draft a render error belongs to, from where the renderer says it happened."""
    if reason.startswith("layout:"):
        return "layout/body"
    if draft_snippet is not None and reason.startswith(f"snippet {draft_snippet!r}:"):
        return "snippet/value"
    return "template/body"


def preview(workspace_id: str, body: dict[str, Any]) -> dict[str, Any]:
    template_body = _object(body, "template", required=True)
    assert template_body is not None
    try:
        template = template_store.draft(workspace_id, template_body)
    except InvalidRequest as exc:
        raise _under("template", exc) from exc
    layout_body = _object(body, "layout", required=False)
    try:
        layout = template_store.layout_draft(workspace_id, layout_body) if layout_body is not None else None
    except InvalidRequest as exc:
        raise _under("layout", exc) from exc
    if layout is None and template.fields.get("layout_id"):
        layout = template_store.layout_source(workspace_id, str(template.fields["layout_id"]))
    snippets = template_store.snippets(workspace_id)
    snippet_body = _object(body, "snippet", required=False)
    draft_snippet = None
    if snippet_body is not None:
        try:
            draft_snippet, source = template_store.snippet_draft(workspace_id, snippet_body)
        except InvalidRequest as exc:
            raise _under("snippet", exc) from exc
        snippets[draft_snippet] = source
    _check_snippets_exist(template, layout, snippets)
    person = people.load(workspace_id, from_map(body.get("identifiers"), allow_phone=False))
    if person is None:
        raise NotFound("person not found")
    message_data = body.get("message_data") or {}
    if not isinstance(message_data, dict):
        raise InvalidRequest("message_data must be an object", field="message_data")
    settings = delivery_settings.load(workspace_id)

    def rendered(request: dict[str, Any]) -> compose.Composed:
        job = compose.Job(
            workspace_id,
            "preview",
            template.channel,
            "transactional",
            request,
            person,
            template,
            layout,
            snippets,
            settings,
        )
        try:
            return compose.compose(job)
        except templates.TemplateError as exc:
            raise InvalidRequest(
                f"the template does not render: {exc.reason}", field=_render_field(exc.reason, draft_snippet)
            ) from exc

    request = {"message_data": message_data, "tracked": False}
    composed = rendered(request)
    address = composed.address
    if composed.message is None and template.channel in CHANNELS_TAKING_TO:
        # The person has no address for the channel, so no send would go out; the author still sees what
        # it would say (``to`` stays null).
        composed = rendered({**request, "to": NO_ADDRESS})
    shown = address if isinstance(address, str) or address is None else len(address)
    return {"channel": template.channel, "to": shown, **composed.retained}
