"""What the crawler reads from a Breach Portal list page: pure functions over the page, no Scrapy.

The spider (crawlers/spiders/breach_portal.py) reads every page it gets with `read_portal_page`, and
`inspect_portal_page` prints the same reading for a page saved from a browser (`kb crawl --inspect PAGE.html`),
so that when the portal changes a maintainer sees in seconds what the crawler would find there. The facts the
reading relies on (docs/crawling-breach-portal.md, ../shared/snapshot/breach_portal_pages/README.md):
- everything sits in one form, `ocrForm`; its results grid is a PrimeFaces DataTable (div.ui-datatable);
- which list a grid shows is told by its column titles: the HIPAA list has "Covered Entity" columns, the
  42 CFR Part 2 list has none and says "Part 2" (in its column titles or on the page);
- the CSV exporter is the command link whose icon is labelled "CSV" (crawlers.jsf.find_control);
- the archive is the tab of the PrimeFaces TabView labelled "Archive" (id ...:archiveTab in 2026);
- the paginator says "(Displaying 1 - 100 of 797)"; an empty list says "No records found." and "0 of 0".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from parsel import Selector

from crawlers import jsf

FORM_ID = "ocrForm"
EXPORT_LABEL = "CSV"
# The grid page of each list (breach_report.jsf itself now redirects to a front page without data).
LIST_PAGES = {"hipaa": "breach_report_hip.jsf", "part2": "breach_report_part2.jsf"}
LIST_MARKS = {"hipaa": "Covered Entity", "part2": "Part 2"}
ARCHIVE_LABEL = re.compile(r"archive", re.IGNORECASE)
REPORTED = re.compile(r"Displaying\s+\d+\s*-\s*\d+\s+of\s+(\d+)")
NO_RECORDS = "No records found."


@dataclass(frozen=True)
class PortalPage:
    """A list page as the crawler reads it. `problem` says why a field is missing, for the error line."""

    list: str | None
    grid: bool
    form: Selector | None
    csv_control: jsf.Control | None
    tab_view: jsf.TabView | None
    archive_tab: jsf.Tab | None
    reported_rows: int | None
    empty: bool
    problem: str | None = None


def list_of_page_name(url: str | None) -> str | None:
    """The list whose grid page the address names (its path's last segment), or None."""
    name = urlparse(url).path.rsplit("/", 1)[-1] if url else ""
    return next((list_ for list_, page in LIST_PAGES.items() if page == name), None)


def results_grid(form: Selector) -> Selector | None:
    """The form's first DataTable that has column headers (the results grid)."""
    grids = form.xpath(".//div[contains(concat(' ', normalize-space(@class), ' '), ' ui-datatable ')][.//thead]")
    return grids[0] if grids else None


def _text(scope: Selector) -> str:
    return " ".join(" ".join(scope.xpath(".//text()[not(ancestor::script)]").getall()).split())


def column_titles(grid: Selector) -> str:
    """The grid's column titles as one string: header text and aria-labels."""
    header = grid.xpath(".//thead")[0]
    return " ".join([_text(header), *header.xpath(".//@aria-label").getall()])


def list_shown(form: Selector, grid: Selector) -> str | None:
    """Which list the grid shows, by what it says (never by the address)."""
    titles = column_titles(grid)
    if LIST_MARKS["hipaa"] in titles:
        return "hipaa"
    if LIST_MARKS["part2"] in titles or LIST_MARKS["part2"] in _text(form):
        return "part2"
    return None


def reported_rows(grid: Selector) -> int | None:
    """The row count the paginator reports ("Displaying 1 - 100 of 797" -> 797), or None without one."""
    for text in grid.xpath(".//*[contains(@class, 'ui-paginator-current')]//text()").getall():
        if found := REPORTED.search(text):
            return int(found[1])
    return None


def grid_is_empty(grid: Selector) -> bool:
    says_no_records = bool(grid.xpath(".//tr[contains(@class, 'ui-datatable-empty-message')]"))
    return says_no_records or NO_RECORDS in _text(grid) or reported_rows(grid) == 0


def archive_tab(view: jsf.TabView) -> jsf.Tab:
    """The tab view's archive tab: labelled "Archive" or with an id ending in archiveTab; exactly one."""
    found = [t for t in view.tabs if ARCHIVE_LABEL.search(t.label) or t.panel_id.endswith(":archiveTab")]
    if len(found) != 1:
        labels = [t.label for t in view.tabs]
        raise jsf.JsfError(f"tab view {view.id}: {len(found)} archive tabs (tabs: {labels})")
    return found[0]


def read_portal_page(page: jsf.Queryable, url: str | None = None) -> PortalPage:
    """Read a list page; what cannot be read is None, and `problem` says the first thing missing."""
    try:
        form = jsf.find_form(page, FORM_ID)
    except jsf.JsfError as e:
        return PortalPage(list_of_page_name(url), False, None, None, None, None, None, False, str(e))
    grid = results_grid(form)
    shown = list_shown(form, grid) if grid is not None else None
    problems = [] if grid is not None else ["no results grid (div.ui-datatable) in the form"]
    control = view = tab = None
    try:
        control = jsf.find_control(form, EXPORT_LABEL)
    except jsf.JsfError as e:
        problems.append(f"CSV exporter: {e}")
    try:
        view = jsf.find_tab_view(form)
        tab = archive_tab(view) if view else None
    except jsf.JsfError as e:
        problems.append(str(e))
    return PortalPage(
        list=shown or list_of_page_name(url),
        grid=shown is not None,
        form=form,
        csv_control=control,
        tab_view=view,
        archive_tab=tab,
        reported_rows=reported_rows(grid) if grid is not None else None,
        empty=grid is not None and grid_is_empty(grid),
        problem=problems[0] if problems else None,
    )


def inspect_portal_page(body: bytes, url: str | None = None) -> dict[str, Any]:
    """What the crawler reads from a saved portal page, as plain data (`kb crawl --inspect`).

    "list" is what the grid shows, or, without a grid that says it, what the address names (None if neither);
    "grid" is True when the page has a results grid that says which list it is.
    """
    read = read_portal_page(Selector(body=body, type="html"), url)
    return {
        "list": read.list,
        "grid": read.grid,
        "csv_command": read.csv_control.id if read.csv_control else None,
        "tab_view": read.tab_view.id if read.tab_view else None,
        "archive_tab": read.archive_tab.panel_id if read.archive_tab else None,
        "reported_rows": read.reported_rows,
        "empty": read.empty,
    }
