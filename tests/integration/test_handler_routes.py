"""The Lambda handler serves exactly the route table, so API Gateway, the handler and the OpenAPI
document agree."""

import re

from functions.track import handler
from nudge.http.track_api import ROUTES


def test_every_route_table_entry_is_registered_with_the_resolver(track):
    for route in ROUTES:
        path = re.sub(r"{\w+}", "x", route.path)
        answer = track.request(route.method, path, None, auth="")
        assert answer.status == 401, f"{route.method} {route.path} is not routed"


def test_resolver_has_no_routes_beyond_the_table():
    registered = [*handler.app._static_routes, *handler.app._dynamic_routes]
    assert sorted((r.method, r.path) for r in registered) == sorted(
        (r.method, r.path.replace("{", "<").replace("}", ">")) for r in ROUTES
    )
