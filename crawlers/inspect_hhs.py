"""What the hhs_enforcement crawler reads from one hhs.gov page: a pure function over saved bytes.

When hhs.gov changes its layout, a maintainer saves the page from a browser and checks in seconds whether the
crawler still finds the title, the publication date and the links it follows (`kb crawl --inspect PAGE.html`,
docs/crawling-hhs.md). The answer comes from the spider's own parse code (`_page_item`, `url_kind`,
`canonical_url`), not from a second reading of the page that could disagree with it.
"""

from __future__ import annotations

from typing import Any

from scrapy.http import HtmlResponse

from crawlers.spiders.hhs_enforcement import _page_item, canonical_url, url_kind

# The link lists of the inspection, by the kind of page the crawler would fetch them as.
LINK_LISTS = {"case_page": "case_pages", "press_release": "press_releases", "agreement_pdf": "pdfs"}


def inspect_hhs_page(body: bytes, url: str) -> dict[str, Any]:
    """{"title", "published", "kind", "links": {"case_pages", "press_releases", "pdfs"}} of the page `body`
    saved from the hhs.gov address `url`. `kind` is what the crawler takes the address for (None: a page it
    does not crawl, e.g. guidance); the links are those it would follow, at the addresses it would fetch."""
    item = _page_item(HtmlResponse(url=url, body=body), kind=url_kind(url), fetched_from=url, raw=body)
    links: dict[str, list[str]] = {name: [] for name in LINK_LISTS.values()}
    for link in item["links"]:
        name = LINK_LISTS.get(url_kind(link) or "")
        if name and canonical_url(link) not in links[name]:
            links[name].append(canonical_url(link))
    return {"title": item["title"], "published": item["published"], "kind": item["kind"], "links": links}
