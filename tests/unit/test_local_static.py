"""The local gateway serving a static folder (the web console's build) under a path prefix."""

import http.client
import threading

import pytest

from nudge import console_site
from nudge_tools.local.gateway import ApiRoute, Gateway
from nudge_tools.local.static import IMMUTABLE, REVALIDATE, StaticSite


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "console"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>console</title>")
    (root / "assets" / "index-3f2a1b9c.js").write_text("export const a = 1;")
    (root / "assets" / "main.8e0f4c1d.css").write_text("body{}")
    (root / "assets" / "logo.svg").write_text("<svg/>")
    (root / "assets" / "my-component.js").write_text("export {};")
    (root / "fonts.woff2").write_bytes(b"\x00\x01")
    (root / "docs").mkdir()
    (root / "docs" / "index.html").write_text("<p>docs</p>")
    (tmp_path / "secret.txt").write_text("outside the root")
    (root / "escape.txt").symlink_to(tmp_path / "secret.txt")
    return StaticSite("/console/", root)


def test_files_are_served_with_their_content_types(site):
    cases = {
        "/console/assets/index-3f2a1b9c.js": "text/javascript; charset=utf-8",
        "/console/assets/main.8e0f4c1d.css": "text/css; charset=utf-8",
        "/console/assets/logo.svg": "image/svg+xml; charset=utf-8",
        "/console/fonts.woff2": "font/woff2",
        "/console/index.html": "text/html; charset=utf-8",
    }
    for path, kind in cases.items():
        answer = site.answer("GET", path)
        assert (answer.status, answer.headers["content-type"]) == (200, kind), path
    assert site.answer("GET", "/console/assets/index-3f2a1b9c.js").body == b"export const a = 1;"


def test_hashed_assets_are_immutable_and_everything_else_revalidates(site):
    def cache(path):
        return site.answer("GET", path).headers["cache-control"]

    assert cache("/console/assets/index-3f2a1b9c.js") == IMMUTABLE
    assert cache("/console/assets/main.8e0f4c1d.css") == IMMUTABLE
    assert cache("/console/") == REVALIDATE  # index.html
    assert cache("/console/assets/logo.svg") == REVALIDATE
    assert cache("/console/assets/my-component.js") == REVALIDATE  # a word, not a hash


def test_every_file_and_route_carries_the_consoles_security_headers(site):
    # The deployed distribution's response headers policy sends the same (infra/components/console_site.py).
    for path in ("/console/", "/console/people/42", "/console/assets/index-3f2a1b9c.js"):
        headers = site.answer("GET", path).headers
        assert headers["content-security-policy"] == console_site.CONTENT_SECURITY_POLICY, path
        assert (headers["x-frame-options"], headers["x-content-type-options"]) == ("DENY", "nosniff"), path
        assert headers["referrer-policy"] == "strict-origin-when-cross-origin", path
    assert "script-src 'self'" in console_site.CONTENT_SECURITY_POLICY  # never an inline or foreign script


def test_client_side_routes_fall_back_to_index_html_but_missing_assets_are_404(site):
    route = site.answer("GET", "/console/campaigns/42/edit")
    assert (route.status, route.body) == (200, b"<!doctype html><title>console</title>")
    assert route.headers["cache-control"] == REVALIDATE
    assert site.answer("GET", "/console/assets/gone-3f2a1b9c.js").status == 404
    assert site.answer("GET", "/console/docs/").body == b"<p>docs</p>"  # a folder's own index.html


def test_nothing_outside_the_root_is_served(site):
    for path in (
        "/console/../secret.txt",
        "/console/%2e%2e/secret.txt",
        "/console/assets/..%2f..%2fsecret.txt",
        "/console/escape.txt",  # a symlink out of the root
        "/console/..%5csecret.txt",
        "/console/%00.txt",
    ):
        answer = site.answer("GET", path)
        assert answer.status == 404, path
        assert b"outside" not in answer.body


def test_prefix_without_slash_redirects_and_conditional_get_answers_304(site):
    assert site.answer("GET", "/console").status == 301
    assert site.answer("GET", "/console").headers["location"] == "/console/"
    first = site.answer("GET", "/console/assets/main.8e0f4c1d.css")
    again = site.answer("GET", "/console/assets/main.8e0f4c1d.css", if_none_match=first.headers["etag"])
    assert (again.status, again.body) == (304, b"")
    assert site.answer("POST", "/console/").status == 405


def test_a_folder_without_index_html_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError):
        StaticSite("/console/", tmp_path)


def test_the_gateway_serves_the_site_over_http_and_keeps_api_routes(site):
    def api(event, context):
        return {"statusCode": 200, "body": "api"}

    gateway = Gateway(
        ("127.0.0.1", 0), [ApiRoute("GET", "/api/v1/ping", api, "nudge-track")], {}, static=site
    )
    thread = threading.Thread(target=gateway.serve_forever, daemon=True)
    thread.start()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", gateway.server_address[1], timeout=5)
        connection.request("GET", "/console/settings")
        page = connection.getresponse()
        assert (page.status, page.getheader("content-type")) == (200, "text/html; charset=utf-8")
        assert page.getheader("cache-control") == REVALIDATE
        assert page.read() == b"<!doctype html><title>console</title>"
        connection.request("HEAD", "/console/assets/index-3f2a1b9c.js")
        head = connection.getresponse()
        assert (head.status, head.getheader("cache-control"), head.read()) == (200, IMMUTABLE, b"")
        connection.request("GET", "/api/v1/ping")
        assert connection.getresponse().read() == b"api"
        connection.close()
    finally:
        gateway.shutdown()
        gateway.server_close()
