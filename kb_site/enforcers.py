"""The pages of the enforcers and of the incidents (routes registered in kb_site.hooks):

- `/-/enforcers` (`.json`): the four enforcers side by side;
- `/-/enforcers/<agency>` (`ocr`, `state-ag` or `state_ag`, `ftc`, `doj`; `.json`): one enforcer;
- `/-/incidents` (`.json`): every incident that more than one action concerns;
- `/-/incidents/<id>` (`.json`): one incident, every enforcer's action on it and its breach reports.

The figures are kb_site.enforcer_queries'; an unknown agency or incident is a 404 (the site's error page,
or JSON for `.json`, kb_site.errors). The JSON is the page's figures without its chart.
"""

from __future__ import annotations

from datasette.utils.asgi import NotFound, Response

from etl.agencies import AGENCIES, AGENCY_SHORT
from kb_site import enforcer_queries as eq

_CHART = ("chart",)  # what the page draws and the JSON leaves out


def _plain(figures: dict) -> dict:
    return {k: v for k, v in figures.items() if k not in _CHART}


async def enforcers_page(datasette, request):
    enforcers = await eq.enforcers_overview(datasette)
    if request.url_vars.get("format") == ".json":
        return Response.json({"ok": True, "enforcers": enforcers})
    return Response.html(
        await datasette.render_template(
            "enforcers.html",
            {"enforcers": enforcers, "incidents_url": datasette.urls.path("/-/incidents")},
            request=request,
        )
    )


async def enforcer_page(datasette, request):
    segment = request.url_vars["agency"]
    agency = eq.agency_code(segment)
    figures = await eq.enforcer_figures(datasette, agency) if agency else None
    if figures is None:
        known = ", ".join(eq.agency_slug(a) for a in AGENCIES)
        raise NotFound(f"{segment!r} is not an enforcer this knowledge base lists (it lists {known}).")
    if request.url_vars.get("format") == ".json":
        return Response.json({"ok": True, **_plain(figures)})
    return Response.html(
        await datasette.render_template(
            "enforcer.html",
            {
                "e": figures,
                "others": [o for o in await eq.enforcers_overview(datasette) if o["agency"] != agency],
                "enforcers_url": datasette.urls.path("/-/enforcers"),
                "incidents_url": datasette.urls.path("/-/incidents"),
                "short": AGENCY_SHORT,
            },
            request=request,
        )
    )


async def incidents_page(datasette, request):
    incidents = await eq.incidents_list(datasette)
    if request.url_vars.get("format") == ".json":
        return Response.json({"ok": True, "incidents": incidents})
    return Response.html(
        await datasette.render_template(
            "incidents.html",
            {
                "incidents": incidents,
                "enforcers_url": datasette.urls.path("/-/enforcers"),
                "paid_words": eq.PAID_WORDS,
                "short": AGENCY_SHORT,
            },
            request=request,
        )
    )


async def incident_page(datasette, request):
    incident_id = request.url_vars["incident_id"]
    figures = await eq.incident_figures(datasette, incident_id)
    if figures is None:
        raise NotFound(f"No incident {incident_id!r}: the list of incidents is at /-/incidents.")
    if request.url_vars.get("format") == ".json":
        return Response.json({"ok": True, **figures})
    return Response.html(
        await datasette.render_template(
            "incident.html",
            {
                "i": figures,
                "incidents_url": datasette.urls.path("/-/incidents"),
                "enforcers_url": datasette.urls.path("/-/enforcers"),
            },
            request=request,
        )
    )
