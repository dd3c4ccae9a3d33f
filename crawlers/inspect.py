"""`kb crawl --inspect PAGE.html`: what the crawler reads from a page saved from a browser.

When a site changes, a maintainer saves the page and checks in seconds whether the crawler still finds what
it needs. Which reader applies is told by the page itself: a Breach Portal page is a JSF form (it carries a
javax.faces.ViewState); anything else is read as an hhs.gov page.
"""

from __future__ import annotations

import re
from typing import Any

from crawlers.inspect_hhs import inspect_hhs_page
from crawlers.inspect_portal import inspect_portal_page

JSF_MARK = re.compile(rb"(?:javax|jakarta)\.faces\.ViewState")
# The address a saved page names for itself, when none is given: <link rel="canonical"> or og:url.
OWN_ADDRESS = (
    re.compile(rb"""<link[^>]+rel=["']canonical["'][^>]+href=["']([^"']+)["']""", re.I),
    re.compile(rb"""<link[^>]+href=["']([^"']+)["'][^>]+rel=["']canonical["']""", re.I),
    re.compile(rb"""<meta[^>]+property=["']og:url["'][^>]+content=["']([^"']+)["']""", re.I),
)


def own_address(body: bytes) -> str | None:
    for pattern in OWN_ADDRESS:
        if m := pattern.search(body):
            return m.group(1).decode("utf-8", "replace")
    return None


def inspect_saved_page(body: bytes, url: str | None = None) -> dict[str, Any]:
    """The inspection of a portal page or an hhs.gov page, with the address it was read as."""
    if JSF_MARK.search(body):
        return {"page": "breach_portal", "url": url, **inspect_portal_page(body, url)}
    address = url or own_address(body) or "https://www.hhs.gov/"
    return {"page": "hhs.gov", "url": address, **inspect_hhs_page(body, address)}
