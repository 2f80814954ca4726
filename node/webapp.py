"""The members' web app: HTML pages and static files served by the node itself, under a strict CSP.

:func:`setup_webapp` adds the routes. Every page is one shell (header, navigation, footer)
around a fragment from ``static/pages``; its behaviour is a small ES module from
``static/app``, which signs records with the browser's own key (``static/js``). Nothing
is loaded from anywhere but this node: the Content-Security-Policy says ``default-src
'self'``, allows no inline script or style, and requires Trusted Types, so a page that
holds a member's signing key cannot be made to run someone else's code.

The member's private key never reaches the node: the browser makes it, keeps it in
IndexedDB, signs there, and posts only signed records to the JSON API (node/app.py).
The routes here serve files and one clock reading; they never see a key.
"""

from __future__ import annotations

import hashlib
import html
import mimetypes
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any, Final

from aiohttp import web

STATIC_DIR: Final = Path(__file__).resolve().parent / "static"
#: Folders of ``static`` served under ``/static/``; ``pages`` holds templates, not served.
SERVED_DIRS: Final = ("app", "js")
SERVED_SUFFIXES: Final = frozenset({".js", ".css", ".svg", ".png", ".ico", ".woff2", ".txt"})
APP_PREFIX: Final = "/app/"

#: The policy on every page and file of the app. No inline code, no outside origin.
CSP: Final = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "require-trusted-types-for 'script'",
        "trusted-types 'none'",
    )
)
SECURITY_HEADERS: Final[Mapping[str, str]] = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
CONTENT_TYPES: Final[Mapping[str, str]] = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".txt": "text/plain",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Page:
    """One page of the app: its URL under ``/app/``, its template and module, its title."""

    name: str
    title: str
    nav: str | None = None

    @property
    def path(self) -> str:
        return APP_PREFIX if self.name == "home" else APP_PREFIX + self.name


#: The pages, in navigation order; those without ``nav`` are reached from other pages.
PAGES: Final = (
    Page(name="home", title="Home", nav="Home"),
    Page(name="requester", title="Look up a requester", nav="Requesters"),
    Page(name="proposals", title="Open proposals", nav="Proposals"),
    Page(name="decisions", title="Decisions", nav="Decisions"),
    Page(name="blocklist", title="Blocklist", nav="Blocklist"),
    Page(name="coop", title="Co-op and federation", nav="Co-op"),
    Page(name="charter", title="Our charter", nav="Charter"),
    Page(name="key", title="Your key", nav="Your key"),
    Page(name="join", title="Join the co-op"),
    Page(name="rate", title="Rate a requester"),
    Page(name="flag", title="Flag a requester, HIT or batch"),
    Page(name="propose", title="Propose something"),
)
PAGES_BY_NAME: Final = {p.name: p for p in PAGES}

SHELL: Final = Template("""\
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>$title · $coop</title>
<link rel="icon" href="/static/app/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/app/app.css">
<script type="module" src="/static/app/pages/$module.js"></script>
</head>
<body data-page="$module">
<a class="skip-link" href="#main">Skip to the main content</a>
<header class="site-header">
<div class="bar">
<a class="brand" href="/app/"><span class="brand-mark" aria-hidden="true"></span>$coop</a>
<button type="button" class="menu-toggle" aria-expanded="false" aria-controls="site-nav">
Menu</button>
</div>
<nav id="site-nav" class="site-nav" aria-label="Main">
<ul>
$nav
</ul>
</nav>
<div class="whoami" id="whoami"></div>
</header>
<main id="main" tabindex="-1">
$content
</main>
<footer class="site-footer">
<p>This app runs on your co-op's own node. Your key is made and kept in this browser;
the node only ever sees what you sign.</p>
<p><a href="/app/charter">Charter</a> · <a href="/app/coop">Co-op status</a> ·
<a href="/api/v1/status">Status as JSON</a> · <a href="/openapi.json">API</a></p>
</footer>
<noscript><p class="noscript">This app needs JavaScript: your key is made and used by it,
in this browser.</p></noscript>
</body>
</html>
""")


def _nav(current: Page) -> str:
    items = []
    for page in PAGES:
        if page.nav is None:
            continue
        here = ' aria-current="page"' if page is current else ""
        items.append(f'<li><a href="{page.path}"{here}>{html.escape(page.nav)}</a></li>')
    return "\n".join(items)


class Webapp:
    """What the routes serve: the page fragments and the static files, read once at setup."""

    def __init__(self, root: Path = STATIC_DIR) -> None:
        self.fragments = {
            p.name: (root / "pages" / f"{p.name}.html").read_text("utf-8") for p in PAGES
        }
        self.not_found = (root / "pages" / "not_found.html").read_text("utf-8")
        self.files: dict[str, tuple[bytes, str, str]] = {}
        for folder in SERVED_DIRS:
            for path in sorted((root / folder).rglob("*")):
                if path.is_file() and path.suffix in SERVED_SUFFIXES:
                    body = path.read_bytes()
                    kind = CONTENT_TYPES.get(path.suffix) or (
                        mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                    )
                    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
                    self.files[path.relative_to(root).as_posix()] = (body, kind, etag)

    def render(self, page: Page | None, coop: str) -> str:
        return SHELL.substitute(
            title=html.escape(page.title if page is not None else "Page not found"),
            coop=html.escape(coop or "coopfed"),
            module=page.name if page is not None else "not_found",
            nav=_nav(page)
            if page is not None
            else _nav(PAGES[0]).replace(' aria-current="page"', ""),
            content=self.fragments[page.name] if page is not None else self.not_found,
        )


WEBAPP: Final = web.AppKey("webapp", Webapp)


def _coop_name(request: web.Request) -> str:
    # Imported here: node/app.py imports this module to call setup_webapp.
    from .app import NODE

    node = request.app.get(NODE)
    return "" if node is None else node.name


async def page(request: web.Request) -> web.Response:
    name = request.match_info.get("name", "home") or "home"
    found = PAGES_BY_NAME.get(name)
    body = request.app[WEBAPP].render(found, _coop_name(request))
    return web.Response(
        text=body,
        status=200 if found is not None else 404,
        content_type="text/html",
        charset="utf-8",
        headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"},
    )


async def static_file(request: web.Request) -> web.Response:
    found = request.app[WEBAPP].files.get(request.match_info["path"])
    if found is None:
        raise web.HTTPNotFound()
    body, kind, etag = found
    headers = {**SECURITY_HEADERS, "ETag": etag, "Cache-Control": "no-cache"}
    if etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    charset = "utf-8" if kind.startswith("text/") or kind.endswith("+xml") else None
    return web.Response(body=body, content_type=kind, charset=charset, headers=headers)


async def now(request: web.Request) -> web.Response:
    """The node's clock, so the browser stamps records with the time the node will check."""
    from .app import CLOCK

    return web.json_response(
        {"now_ms": request.app[CLOCK]()}, headers={"Cache-Control": "no-store"}
    )


async def to_app(request: web.Request) -> web.Response:
    raise web.HTTPFound(APP_PREFIX)


def setup_webapp(app: web.Application, *, root: Path = STATIC_DIR) -> None:
    """Add the web app's routes to the node's application."""
    app[WEBAPP] = Webapp(root)
    app.router.add_get("/", to_app)
    app.router.add_get("/app", to_app)
    app.router.add_get("/app/now", now)
    app.router.add_get(APP_PREFIX, page)
    app.router.add_get(APP_PREFIX + "{name:[a-z_]+}", page)
    app.router.add_get("/static/{path:.+}", static_file)


def openapi_paths() -> dict[str, Any]:
    """The web app's routes as OpenAPI path items (merged into node/openapi.py's document)."""

    def get(op_id: str, summary: str, content: str, description: str, **extra: Any) -> Any:
        return {
            "get": {
                "operationId": op_id,
                "tags": ["web app"],
                "summary": summary,
                **extra,
                "responses": {
                    "200": {"description": description, "content": {content: {}}},
                    "404": {"$ref": "#/components/responses/E404"},
                },
            }
        }

    def redirect(op_id: str) -> Any:
        return {
            "get": {
                "operationId": op_id,
                "tags": ["web app"],
                "summary": "Leads to the members' web app",
                "responses": {"302": {"description": "Location: /app/"}},
            }
        }

    name = {
        "name": "name",
        "in": "path",
        "required": True,
        "description": "The page: " + ", ".join(p.name for p in PAGES if p.name != "home"),
        "schema": {"type": "string", "pattern": "^[a-z_]+$"},
    }
    path = {
        "name": "path",
        "in": "path",
        "required": True,
        "description": "A file of the app, e.g. app/app.css or js/records.js",
        "schema": {"type": "string"},
    }
    return {
        "/": redirect("rootToApp"),
        "/app": redirect("appToApp"),
        APP_PREFIX: get(
            "appHome",
            "The members' web app: its start page",
            "text/html",
            "An HTML page under a strict Content-Security-Policy",
        ),
        APP_PREFIX + "{name}": get(
            "appPage",
            "A page of the members' web app",
            "text/html",
            "An HTML page under a strict Content-Security-Policy (404: no such page)",
            parameters=[name],
        ),
        "/app/now": get(
            "appNow",
            "The node's clock, in Unix milliseconds, for the app to stamp records with",
            "application/json",
            '{"now_ms": integer}',
        ),
        "/static/{path}": get(
            "appFile",
            "A static file of the web app (JavaScript module, stylesheet, icon)",
            "*/*",
            "The file, with an ETag (304 when unchanged)",
            parameters=[path],
        ),
    }
