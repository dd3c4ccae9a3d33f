"""Atom feeds: datasette-atom's renderer, wrapped. datasette-atom 0.9 has two problems for feed readers:

- an empty result (a feed filtered to a state with no new actions) is a 500 (max() of no rows): it must be
  a valid, empty feed;
- it cannot page. A feed query that returns a `feed_key` column and `limit FEED_PAGE_SIZE + 1` is paged:
  the extra row only says that a next page exists, and the feed gets a rel="next" link whose `before`
  parameter is the last shown row's key (RFC 5005 paged feeds).

`atom_renderer()` is registered (kb_site.hooks, `trylast`) for the `.atom` extension after datasette-atom's
own registration, so it replaces it; it calls datasette-atom for the feed itself.
docs/upstream/datasette-atom.md describes the patch offered upstream.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode

import datasette_atom
from datasette.utils.asgi import Response
from feedgen.feed import FeedGenerator
from lxml import etree

from etl.agencies import AGENCIES

FEED_PAGE_SIZE = 100


def render_atom_paged(datasette, request, sql, columns, rows, database, table, query_name, view_name, data):
    if not rows:
        return _empty_feed(datasette, request, database, query_name)
    paged = "feed_key" in columns and len(rows) > FEED_PAGE_SIZE
    shown = list(rows[:FEED_PAGE_SIZE]) if paged else list(rows)
    response = datasette_atom.render_atom(
        datasette, request, sql, columns, shown, database, table, query_name, view_name, data
    )
    if not paged:
        return response
    root = etree.fromstring(response.body)
    next_url = _with_param(request, "before", str(shown[-1]["feed_key"]))
    link = etree.Element("{http://www.w3.org/2005/Atom}link", href=next_url, rel="next")
    self_link = root.find("{http://www.w3.org/2005/Atom}link")
    (self_link.addnext(link) if self_link is not None else root.insert(0, link))
    return Response(
        etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True),
        content_type="application/xml; charset=utf-8",
        status=200,
    )


def _with_param(request, name: str, value: str) -> str:
    args = [(k, v) for k, v in parse_qsl(request.query_string, keep_blank_values=True) if k != name]
    return request.url.split("?", 1)[0] + "?" + urlencode(args + [(name, value)])


def _empty_feed(datasette, request, database, query_name):
    fg = FeedGenerator()
    fg.id(request.url)
    fg.link(href=request.url, rel="self")
    fg.title(
        (datasette.metadata("queries", database=database) or {}).get(query_name, {}).get("title")
        or query_name
        or "feed"
    )
    fg.updated(datetime.now(UTC))
    return Response(fg.atom_str(pretty=True), content_type="application/xml; charset=utf-8", status=200)


# The per-enforcer feed (kb_site/metadata/enforcers.yml): one canned query whose feed is titled after the
# enforcer its `agency` parameter names, so that no feed says "OCR" for another enforcer's actions.
AGENCY_FEED = "feed_agency_actions"


def agency_feed_title(agency: str | None) -> str:
    """'Federal Trade Commission: new enforcement actions' (etl.agencies words; 'state-ag' = 'state_ag')."""
    code = (agency or "").strip().lower().replace("-", "_")
    if not code:
        return "Every enforcer: new HIPAA and health privacy enforcement actions"
    if code in AGENCIES:
        return f"{AGENCIES[code]}: new enforcement actions"
    return f"No enforcer {agency!r}: no actions"


def _retitled(response: Response, title: str) -> Response:
    root = etree.fromstring(response.body)
    element = root.find("{http://www.w3.org/2005/Atom}title")
    if element is None:
        return response
    element.text = title
    return Response(
        etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True),
        content_type="application/xml; charset=utf-8",
        status=response.status,
    )


def render_atom_titled(datasette, request, sql, columns, rows, database, table, query_name, view_name, data):
    """render_atom_paged, the per-enforcer feed titled after its enforcer."""
    response = render_atom_paged(datasette, request, sql, columns, rows, database, table, query_name, view_name, data)
    if query_name == AGENCY_FEED and response.status == 200:
        return _retitled(response, agency_feed_title(request.args.get("agency")))
    return response


def atom_renderer() -> dict:
    """The output renderer of the `.atom` extension (same extension and `can_render` as datasette-atom's)."""
    return {"extension": "atom", "render": render_atom_titled, "can_render": datasette_atom.can_render_atom}
