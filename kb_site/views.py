"""The site's own pages (route handlers, registered in kb_site.hooks): provision pages, the provisions list,
case cards, the API page, the investigations page and the penalties page. Each reads kb_site.queries and
renders a template of kb_site/templates/. The similar-case search view is kb_site.similar."""

from __future__ import annotations

from urllib.parse import quote, unquote, urlencode

from datasette.utils.asgi import NotFound, Response

from kb_site import queries
from kb_site.cards import case_card
from kb_site.formatting import DATABASE, cfr_citation, provision_path, usd

PLUGIN = "kb-site"  # the plugin configuration's name in the metadata (plugins: kb-site: ...)


def _base_url(request) -> str:
    return f"{request.scheme}://{request.host}"


async def provision_page(datasette, request):
    """A listed provision's page. Another citation goes to the provision that stands for it: a paragraph
    the table does not list to its nearest listed parent, with `?cited=` naming what was asked for."""
    provision_id = unquote(request.url_vars["provision_id"])
    figures = await queries.provision_figures(datasette, provision_id)
    if figures is None:
        return await _nearest_provision_redirect(datasette, provision_id)
    cited = request.args.get("cited")
    if cited == provision_id or (cited and (await queries.nearest_provision(datasette, cited))[0] != provision_id):
        cited = None  # only a citation that this provision stands for is named on its page
    return Response.html(
        await datasette.render_template(
            "provision.html", {"p": figures, "usd": usd, "cited": cited and cfr_citation(cited)}, request=request
        )
    )


async def _nearest_provision_redirect(datasette, citation: str) -> Response:
    nearest, canonical = await queries.nearest_provision(datasette, citation)
    if nearest is None:
        raise NotFound(
            f"{cfr_citation(canonical)} is not a provision this knowledge base lists."
            if canonical
            else f"{citation!r} is not a citation this knowledge base reads (45 CFR, 42 CFR Part 2, 16 CFR Part 318, "
            "15 U.S.C. 45 or 42 U.S.C. 1320d-5 / 1320d-6)."
        )
    path = provision_path(datasette.urls, nearest)
    return Response.redirect(path if canonical == nearest else f"{path}?{urlencode({'cited': canonical})}")


async def provisions_page(datasette, request):
    return Response.html(
        await datasette.render_template(
            "provisions.html", {"provisions": await queries.cited_provisions(datasette)}, request=request
        )
    )


async def case_card_view(datasette, request):
    action_id, fmt = request.url_vars["action_id"], request.url_vars["fmt"]
    case = await queries.case_brief(datasette, action_id)
    if case is None:
        raise NotFound(f"No enforcement action {action_id!r}")
    body = case_card(case, _base_url(request), markdown=fmt == "md")
    content_type = "text/markdown; charset=utf-8" if fmt == "md" else "text/plain; charset=utf-8"
    return Response(body, content_type=content_type, headers={"X-Content-Type-Options": "nosniff"})


def example_params(datasette, name: str, query: dict) -> dict:
    """Sample parameters of a canned query: its own `example_params`, else the kb-site plugin
    configuration's entry for it (queries that other metadata fragments own)."""
    config = datasette.plugin_config(PLUGIN) or {}
    return dict(query.get("example_params") or (config.get("example_params") or {}).get(name) or {})


def api_examples(datasette, base_url: str) -> list[dict]:
    """The API page's examples: the plugin configuration's list plus one per canned query, each with
    a curl command. Tests run exactly these."""
    config = datasette.plugin_config(PLUGIN) or {}
    examples = [dict(e) for e in config.get("api_examples", [])]
    canned = datasette.metadata("queries", database=DATABASE) or {}
    for name, q in sorted(canned.items()):
        params = example_params(datasette, name, q)
        fmt = "atom" if "atom_id" in q.get("sql", "") else "json"
        query = "&".join(f"{quote(k)}={quote(str(v), safe='(),')}" for k, v in params.items() if v != "")
        examples.append(
            {
                "title": q.get("title") or name,
                "description": q.get("description", ""),
                "description_html": q.get("description_html", ""),
                "params": list(params),
                "path": datasette.urls.query(DATABASE, name, format=fmt) + (f"?{query}" if query else ""),
                "query": name,
                "query_path": datasette.urls.query(DATABASE, name),
            }
        )
    for e in examples:
        e["curl"] = f"curl '{base_url}{e['path']}'"
    return examples


async def api_page(datasette, request):
    examples = api_examples(datasette, _base_url(request))
    return Response.html(
        await datasette.render_template(
            "api.html",
            {
                "examples": examples,
                "time_limit_s": datasette.setting("sql_time_limit_ms") / 1000,
                "max_rows": datasette.setting("max_returned_rows"),
            },
            request=request,
        )
    )


async def investigations_page(datasette, request):
    groupings = dict(queries.GROUPINGS)
    by = request.args.get("by") or "year"
    if by not in groupings:
        by = "year"
    figures = await queries.investigation_figures(datasette, by, request.actor)
    urls = datasette.urls
    links = [
        (name, title, urls.query(DATABASE, name))
        for name, title in (
            ("investigation_durations", "Durations by group (also as JSON and CSV)"),
            ("investigations_open_over_two_years", "Reports still under investigation after two years"),
            ("placeholder_counts_after_six_months", "Counts still a 500 / 501 placeholder after six months"),
            ("largest_upward_revisions", "The largest upward revisions of individuals affected"),
        )
    ]
    return Response.html(
        await datasette.render_template(
            "investigations.html",
            {
                "by": by,
                "by_label": groupings[by],
                "groupings": queries.GROUPINGS,
                **figures,
                "queries": links,
                "table_url": urls.table(DATABASE, "investigations"),
            },
            request=request,
        )
    )


async def penalties_page(datasette, request):
    return Response.html(
        await datasette.render_template(
            "penalties.html", {"pen": await queries.penalty_figures(datasette)}, request=request
        )
    )
