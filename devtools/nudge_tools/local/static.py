"""A folder of static files served under a path prefix by the local gateway: the web console's build.

- ``<prefix>/a/b.css`` is ``<root>/a/b.css``; a folder answers with its ``index.html``; ``<prefix>``
  without its trailing slash redirects to it (relative URLs in index.html then resolve under the prefix).
- A path that names no file and whose last segment has no extension is a client-side route
  (``/console/campaigns/42``): it answers with the root's ``index.html`` so the single-page app can route
  it. A missing file with an extension (``/console/assets/app-3f2a1b9c.js``) is a 404, never HTML served
  as a script.
- Nothing outside the root is ever served: the path is decoded, resolved (symlinks included) and must
  stay under the root, or the answer is 404.
- Cache: HTML is ``no-cache`` (always revalidated, so a new deploy is seen at once); a file whose name
  carries a content hash (``app-3f2a1b9c.js``, ``main.8e0f4c1d.css``) is immutable for a year; anything
  else is ``no-cache``. Every file has an ETag and a conditional GET answers 304.
- Every answer carries the console's security headers (``nudge.console_site``: a Content-Security-Policy,
  frame denial, nosniff, a referrer policy), the ones CloudFront adds deployed.
"""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

from nudge.console_site import IMMUTABLE, REVALIDATE, security_headers

# Types the platform's tables may lack or get wrong (Python's own maps .js to text/javascript only
# since 3.12), for what a web build contains.
_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    ".wasm": "application/wasm",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ico": "image/x-icon",
    ".txt": "text/plain",
}
_TEXT = ("text/", "application/json", "application/manifest+json", "image/svg+xml")
# A bundler's content hash before the extension: 8 or more of [A-Za-z0-9_-] after "-" or ".", with at
# least one digit and one letter, so that plain words ("my-component.js") never pass as hashed: a file
# wrongly marked immutable would stay stale in browsers for a year, one wrongly revalidated costs a 304.
_HASHED = re.compile(r"[.-](?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{8,}\.[A-Za-z0-9]+$")


@dataclass(frozen=True)
class StaticAnswer:
    status: int
    headers: dict[str, str]
    body: bytes


def content_type(path: PurePosixPath | Path) -> str:
    suffix = path.suffix.lower()
    kind = _TYPES.get(suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"{kind}; charset=utf-8" if kind.startswith(_TEXT) else kind


def cache_control(path: PurePosixPath | Path) -> str:
    if path.suffix.lower() == ".html":
        return REVALIDATE
    return IMMUTABLE if _HASHED.search(path.name) else REVALIDATE


class StaticSite:
    """``root``'s files under ``prefix`` (``/console/``)."""

    def __init__(self, prefix: str, root: Path) -> None:
        self.prefix = "/" + prefix.strip("/") + "/"
        self.root = root.resolve()
        if not (self.root / "index.html").is_file():
            raise FileNotFoundError(f"{self.root} has no index.html to serve under {self.prefix}")

    def owns(self, path: str) -> bool:
        """Whether a request path (still percent-encoded) belongs to this site."""
        return path.startswith(self.prefix) or path == self.prefix.rstrip("/")

    def answer(self, method: str, path: str, if_none_match: str | None = None) -> StaticAnswer:
        if method not in ("GET", "HEAD"):
            return StaticAnswer(405, {"allow": "GET, HEAD", "content-type": "text/plain; charset=utf-8"}, b"")
        if path == self.prefix.rstrip("/"):
            return StaticAnswer(301, {"location": self.prefix}, b"")
        relative = unquote(path[len(self.prefix) :])
        found = self._file(relative)
        if found is None:
            if PurePosixPath(relative).suffix:
                return StaticAnswer(404, {"content-type": "text/plain; charset=utf-8"}, b"Not Found")
            found = self.root / "index.html"  # a client-side route
        stat = found.stat()
        tag = f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"'
        headers = {
            "content-type": content_type(found),
            "cache-control": cache_control(found),
            "etag": tag,
            **security_headers(),
        }
        if if_none_match is not None and tag in (t.strip() for t in if_none_match.split(",")):
            return StaticAnswer(304, headers, b"")
        return StaticAnswer(200, headers, found.read_bytes())

    def _file(self, relative: str) -> Path | None:
        """The file ``relative`` names under the root (a folder's index.html), or None; never outside."""
        if "\x00" in relative or "\\" in relative:
            return None
        candidate = (self.root / relative).resolve()
        if not candidate.is_relative_to(self.root):
            return None
        if candidate.is_dir():
            candidate = candidate / "index.html"
        return candidate if candidate.is_file() else None
