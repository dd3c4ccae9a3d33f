"""Every Datasette plugin hook of the site, in one module. Each one only says what the site adds and
delegates: pages to kb_site.views and kb_site.similar, figures to kb_site.queries, the Atom feeds to
kb_site.feeds, formatting and links to kb_site.formatting, error pages and refused requests to
kb_site.errors, CORS on the site's routes to kb_site.cors.

Datasette loads this through the `datasette` entry point of pyproject.toml (the package kb_site, whose
__init__ re-exports these functions), and serves kb_site/templates/ and kb_site/static/ with it.
"""

from __future__ import annotations

import functools
import importlib.resources

from datasette import hookimpl
from datasette.utils import urlsafe_components
from markupsafe import Markup

from kb_site import (
    cells,
    enforcer_queries,
    enforcers,
    errors,
    facet_cache,
    feeds,
    paging,
    precedents,
    queries,
    search,
    similar,
    tables,
    views,
)
from kb_site.cors import with_cors
from kb_site.formatting import DATABASE, entity_path, number, provision_path, usd


@hookimpl
def startup(datasette):
    # Datasette 0.65.5 loses rows when paging a sorted table (docs/upstream/datasette-sort-tiebreaker.md)
    paging.apply()
    # Datasette 0.65.5's exception handler turns some 404s into 500s under rich 15 (kb_site/errors.py)
    errors.replace_default_handler()
    # The database is immutable: each request's facet counts are computed once (kb_site/facet_cache.py)
    facet_cache.apply()

    async def inner():
        # Before the server answers: the first similar-case search is then as fast as the next.
        await similar.preload(datasette)

    return inner


@hookimpl
def register_routes():
    routes = [
        (r"^/-/provision/(?P<provision_id>[^/]+)$", views.provision_page),
        (r"^/-/provisions$", views.provisions_page),
        (r"^/-/case-card/(?P<action_id>[^/]+)\.(?P<fmt>md|txt)$", views.case_card_view),
        (r"^/-/api$", views.api_page),
        (r"^/-/investigations$", views.investigations_page),
        (r"^/-/penalties$", views.penalties_page),
        (r"^/-/similar(?P<format>\.json)?$", similar.similar_view),
        (r"^/-/precedents(?P<format>\.json|\.md)?$", precedents.precedents_view),
        (r"^/-/search(?P<format>\.json|\.csv)?$", search.search_view),
        (r"^/-/enforcers(?P<format>\.json)?$", enforcers.enforcers_page),
        (r"^/-/enforcers/(?P<agency>[^/.]+)(?P<format>\.json)?$", enforcers.enforcer_page),
        (r"^/-/incidents(?P<format>\.json)?$", enforcers.incidents_page),
        (r"^/-/incidents/(?P<incident_id>[^/.]+)(?P<format>\.json)?$", enforcers.incident_page),
    ]
    return [(pattern, with_cors(view)) for pattern, view in routes]


@hookimpl
def asgi_wrapper(datasette):
    return lambda app: errors.read_only(app, datasette)


@hookimpl
def handle_exception(datasette, request, exception):
    async def inner():
        return await errors.error_response(datasette, request, exception)

    return inner


@hookimpl
def filters_from_request(request, database, table, datasette):
    async def inner():
        await errors.refuse_search_without_fts(datasette, request, database, table)

    return inner


@hookimpl(trylast=True)
def register_output_renderer():
    """`.atom`: called after datasette-atom's own registration, so this wrapper replaces it."""
    return feeds.atom_renderer()


@functools.cache
def _static_name() -> str:
    """The name Datasette serves kb_site/static/ under (/-/static-plugins/<name>/): the distribution's name
    for a plugin installed with an entry point."""
    from datasette.plugins import get_plugins

    static = str(importlib.resources.files("kb_site") / "static")
    return next(p["name"] for p in get_plugins() if p["static_path"] == static)


@hookimpl
def extra_css_urls(datasette):
    return [datasette.urls.static_plugins(_static_name(), "site.css")]


@hookimpl
def extra_template_vars(template, database, table, view_name, request, datasette):
    async def inner():
        values = {"usd": usd, "number": number, "kb_database": DATABASE, "column_label": cells.column_label}
        if view_name == "table" and database == DATABASE:
            values["kb_table"] = await tables.table_page_vars(datasette, database, table, request)
        if template == "index.html":
            values["kb"] = await queries.home_figures(datasette)
            values["coverage"] = await queries.coverage_rows(datasette)
            values["kb_enforcers"] = await enforcer_queries.enforcers_overview(datasette)
        if view_name == "row" and request is not None:
            pk = urlsafe_components(request.url_vars["pks"])[0]
            if database == DATABASE and table == "enforcement_actions":
                values["case"] = await queries.case_brief(datasette, pk)
                values["incident_line"] = await enforcer_queries.incident_of_action(datasette, pk)
            if database == DATABASE and table == "breaches":
                values["report"] = await queries.breach_history(datasette, pk)
                values.update(await similar.breach_page_vars(datasette, pk))
            if database == DATABASE and table == "entities":
                values["entity_page"] = await queries.entity_page(datasette, pk)
            if table == "enforcement_actions":
                values.update(await similar.row_page_vars(datasette, database, pk))
        return values

    return inner


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    """Dollar amounts (columns named `amount_usd` / `*_usd`) as $1,234,567; provision ids and entity ids as
    links (entity_id is filled after its tables are loaded, so it carries no declared foreign key); in query
    results, action and breach-report ids as links and coded values in words; on table pages, lists as chips,
    codes and flags in words, counts with separators; an empty `cap` as "unknown" (kb_site.cells)."""
    if database != DATABASE or isinstance(value, bytes):
        return None
    if value is None:
        return cells.missing_value(column)
    if (column == "amount_usd" or column.endswith("_usd")) and isinstance(value, (int, float)):
        return Markup('<span class="usd">{}</span>').format(usd(value))
    if table is None and (cell := cells.query_cell(datasette.urls, row, column, value)) is not None:
        return cell
    if column in ("provision_id",) or (table == "provisions" and column == "id"):
        return Markup('<a href="{}">{}</a>').format(provision_path(datasette.urls, str(value)), value)
    if column == "entity_id" and table != "entities":
        return Markup('<a href="{}">{}</a>').format(entity_path(datasette.urls, str(value)), value)
    if table is not None:
        return cells.table_cell(column, value)
    return None
