"""axe-core (the npm package, installed by `make browser`, injected from node_modules: nothing is fetched at
run time) finds no serious or critical violation on the site's pages, at 1366×900 and on a 390 px phone."""

from __future__ import annotations

import pytest
from conftest import REPO_ROOT

AXE = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
PAGES = {
    "home": "/",
    "search": "/-/search?q=ransomware&kind=actions",
    "case brief": "/kb/enforcement_actions/2018-10-15-anthem",
    "breach report": "/kb/breaches/2024-07-19-change-healthcare-mn",
    "entity": "/kb/entities/anthem-in",
    "provision": "/-/provision/164.308(a)(1)(ii)(A)",
    "provisions": "/-/provisions",
    "penalties": "/-/penalties",
    "similar": "/-/similar?q=ransomware",
    "precedents": "/-/precedents?q=ransomware+attack+no+risk+analysis",
    "investigations": "/-/investigations",
    "canned query": "/kb/investigations_open_over_two_years",
    "enforcers": "/-/enforcers",
    "enforcer (state AG)": "/-/enforcers/state-ag",
    "enforcer (DOJ)": "/-/enforcers/doj",
    "incidents": "/-/incidents",
    "incident": "/-/incidents/anthem-2015-cyberattack",
}
RUN_AXE = """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
    .filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(", ")}`)"""


@pytest.mark.parametrize("width", [1366, 390])
@pytest.mark.parametrize("name", list(PAGES))
def test_no_serious_accessibility_violation(page, datasette_url: str, name: str, width: int) -> None:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make browser` (npm ci installs axe-core)")
    page.set_viewport_size({"width": width, "height": 900})
    response = page.goto(datasette_url + PAGES[name])
    assert response is not None and response.status == 200, name
    page.add_script_tag(path=str(AXE))
    assert page.evaluate(RUN_AXE) == [], f"{name} at {width} px"
