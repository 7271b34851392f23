"""/docs (Swagger UI) served from files on this machine: the interactive API reference works
offline and loads nothing from third parties. The files come with the ``fastapi-offline``
package from PyPI (Swagger UI 5, which renders FastAPI's OpenAPI 3.1). There is no /redoc:
ReDoc fetches its logo from its makers' site, whatever it is told."""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response

from topup.errors import NotFound

router = APIRouter(include_in_schema=False)
ASSETS = files("fastapi_offline") / "static"
TYPES = {"swagger-ui-bundle.js": "text/javascript; charset=utf-8",
         "swagger-ui.css": "text/css; charset=utf-8",
         "favicon.png": "image/png"}
PREFIX = "/static/api-docs"


@router.get("/docs")
def swagger(request: Request) -> HTMLResponse:
    """Swagger UI for the API, from local files."""
    return get_swagger_ui_html(
        openapi_url="/openapi.json", title=f"{request.app.title} - Swagger UI",
        swagger_js_url=f"{PREFIX}/swagger-ui-bundle.js",
        swagger_css_url=f"{PREFIX}/swagger-ui.css",
        swagger_favicon_url=f"{PREFIX}/favicon.png")


@router.get(PREFIX + "/{name}")
def asset(name: str) -> Response:
    """One of the documentation pages' files (cached for a day)."""
    if name not in TYPES:
        raise NotFound()
    return Response((ASSETS / name).read_bytes(), media_type=TYPES[name],
                    headers={"Cache-Control": "public, max-age=86400",
                             "X-Content-Type-Options": "nosniff"})
