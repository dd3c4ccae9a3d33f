"""The knowledge base's website: a Datasette plugin package.

Installed with the project (`pip install -e .`), it is registered by the `datasette` entry point of
pyproject.toml, so any `datasette` of the environment loads it; Datasette adds this package's
templates/ to its template search path and serves static/ at /-/static-plugins/<distribution name>/.

Modules: hooks (every plugin hook), views (page handlers), queries (the SQL the pages read), charts (SVG),
cards (case cards), feeds (Atom feeds), formatting (amounts, safe links, the site's paths), similar
(similar-case search), errors (error pages, refused requests), cors (CORS on the site's routes).

The entry point names this package rather than kb_site.hooks: Datasette finds templates/ and static/
beside the registered module's package (`importlib.resources.files(module name)`), which on Python 3.11
must be a package. So the package re-exports the hooks, and pluggy finds them here.
"""

from kb_site.hooks import (  # noqa: F401
    asgi_wrapper,
    extra_css_urls,
    extra_template_vars,
    filters_from_request,
    handle_exception,
    register_output_renderer,
    register_routes,
    render_cell,
    startup,
)
