"""How the web console's files are served, the same by the local runtime and by the deployed stack: where
they live, how long browsers keep them and the security headers that come with them.

``nudge_tools.local.static`` sends these headers with every console file; the stack
(``infra/components/console_site.py``) gives CloudFront the same through a response headers policy. So the
browser tests, which run the whole console under ``nudge local``, run it under the deployed policy.
"""

from __future__ import annotations

PREFIX = "/console/"

# Vite names every file under assets/ by its content's hash: one is never changed, only replaced by another
# name. The rest (index.html) is revalidated every time, so a new release is seen at once.
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"

# What the console loads: its own scripts and styles; the <style> tags Mantine writes for its theme and the
# style attributes React sets (hence 'unsafe-inline' for styles, never for scripts); the App API on the
# same origin. A message's or a template's HTML is shown in a sandboxed srcdoc iframe, which inherits
# this policy: its images load over HTTPS (email images are on CDNs), its scripts never run.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: https:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "frame-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
FRAME_OPTIONS = "DENY"
REFERRER_POLICY = "strict-origin-when-cross-origin"
# Strict-Transport-Security: two years, sent by CloudFront only (the local runtime is mostly plain HTTP,
# where browsers ignore it, and its TLS is a self-signed development certificate).
HSTS_SECONDS = 2 * 365 * 24 * 3600


def security_headers() -> dict[str, str]:
    """The headers every console file is served with (lower-case names), HSTS aside."""
    return {
        "content-security-policy": CONTENT_SECURITY_POLICY,
        "x-frame-options": FRAME_OPTIONS,
        "x-content-type-options": "nosniff",
        "referrer-policy": REFERRER_POLICY,
    }
