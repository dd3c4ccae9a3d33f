"""CORS on the site's own routes. `kb serve` runs Datasette with `--cors` (etl/site.py), and Datasette then
adds `Access-Control-Allow-Origin: *` to the answers of its own views; routes that a plugin registers get
nothing from it. So kb_site.hooks wraps each of the site's route views with `with_cors`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from datasette.utils import add_cors_headers
from datasette.utils.asgi import Response

View = Callable[..., Awaitable[Response]]


def with_cors(view: View) -> View:
    """`view` (which takes `datasette` and `request`) with Datasette's CORS headers added when --cors is on."""

    async def wrapped(datasette, request) -> Response:
        response = await view(datasette=datasette, request=request)
        if datasette.cors:
            add_cors_headers(response.headers)
        return response

    wrapped.__name__ = wrapped.__qualname__ = getattr(view, "__name__", "view")
    wrapped.__doc__ = view.__doc__
    return wrapped
