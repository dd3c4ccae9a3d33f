"""What each source of a case brief is: HHS's own documents first, labelled by what they are (press
release, resolution agreement, case page, ...), then the research sources labelled by the kind of site
they come from (law firm, trade press, news, ...), read off the address's host.

The host table is small on purpose: it names the sites the curated file cites most (data/curated/
ocr_actions.jsonl, `evidence`); any other host reads "Other source", never a guess.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

# Kinds of research source, in the order a case brief lists them after HHS's own documents.
KIND_ORDER = ("Law firm", "Trade press", "News", "Compliance vendor", "Copy of a document", "Data set", "Other source")

# Registered domain (no "www.") -> kind. A host matches its own entry or that of a domain it is under
# ("production.jdsupra.com" is jdsupra.com).
HOST_KINDS = {
    # law firms and their blogs
    "saul.com": "Law firm",
    "huntonprivacyblog.com": "Law firm",
    "huntonak.com": "Law firm",
    "hunton.com": "Law firm",
    "cglawfirm.com": "Law firm",
    "nixonpeabody.com": "Law firm",
    "dataprivacyandsecurityinsider.com": "Law firm",
    "robinsoncoleblogs.com": "Law firm",
    "sidley.com": "Law firm",
    "bricker.com": "Law firm",
    "brickergraydon.com": "Law firm",
    "insideprivacy.com": "Law firm",
    "rivkinradler.com": "Law firm",
    "proskauer.com": "Law firm",
    "dwt.com": "Law firm",
    "foxrothschild.com": "Law firm",
    "agg.com": "Law firm",
    "williamsmullen.com": "Law firm",
    "dinsmore.com": "Law firm",
    "mcguirewoods.com": "Law firm",
    "wilmerhale.com": "Law firm",
    "pbwt.com": "Law firm",
    "clearyenforcementwatch.com": "Law firm",
    "technologyslegaledge.com": "Law firm",
    "morganlewis.com": "Law firm",
    "bakerdonelson.com": "Law firm",
    # trade press: health care, health IT, compliance and law publishers
    "hipaajournal.com": "Trade press",
    "hipaaguide.net": "Trade press",
    "hipaatimes.com": "Trade press",
    "hipaanswers.com": "Trade press",
    "lexology.com": "Trade press",
    "jdsupra.com": "Trade press",
    "natlawreview.com": "Trade press",
    "mondaq.com": "Trade press",
    "lexblog.com": "Trade press",
    "modernhealthcare.com": "Trade press",
    "fiercehealthcare.com": "Trade press",
    "techtarget.com": "Trade press",
    "govinfosecurity.com": "Trade press",
    "healthcareinfosecurity.com": "Trade press",
    "bankinfosecurity.com": "Trade press",
    "hcinnovationgroup.com": "Trade press",
    "healthcare-informatics.com": "Trade press",
    "scmagazine.com": "Trade press",
    "healthitsecurity.com": "Trade press",
    "healthdatamanagement.com": "Trade press",
    "beckershospitalreview.com": "Trade press",
    "healthcareitnews.com": "Trade press",
    "healthleadersmedia.com": "Trade press",
    "databreaches.net": "Trade press",
    "netsec.news": "Trade press",
    "bna.com": "Trade press",
    "reliasmedia.com": "Trade press",
    "mcknights.com": "Trade press",
    "revenuecycleadvisor.com": "Trade press",
    "healthcarecompliancejournal.com": "Trade press",
    "thomsonreuters.com": "Trade press",
    # general news
    "einpresswire.com": "News",
    "reuters.com": "News",
    "bloomberg.com": "News",
    "cnbc.com": "News",
    "bostonglobe.com": "News",
    "masslive.com": "News",
    "thehill.com": "News",
    "chicagotribune.com": "News",
    # compliance software, training and consulting firms' pages
    "compliancy-group.com": "Compliance vendor",
    "hipaatraining.net": "Compliance vendor",
    "calhipaa.com": "Compliance vendor",
    "paubox.com": "Compliance vendor",
    "compliancejunction.com": "Compliance vendor",
    "accountablehq.com": "Compliance vendor",
    # copies of agreements and filings posted by third parties
    "vdocuments.us": "Copy of a document",
    "vdocuments.site": "Copy of a document",
    "docplayer.net": "Copy of a document",
    "docslib.org": "Copy of a document",
    "slideshare.net": "Copy of a document",
    # data: copies of the Breach Portal's list and breach databases
    "gist.github.com": "Data set",
    "github.com": "Data set",
}

# Web archives that keep copies of hhs.gov pages: the address they archive is inside theirs.
ARCHIVE_HOSTS = ("pagefreezer.com", "cybercemetery.unt.edu", "web.archive.org")

# HHS document kinds, in the order a case brief lists them (HHS's own first: see hhs_label).
HHS_ORDER = (
    "HHS press release",
    "HHS resolution agreement",
    "HHS penalty notice",
    "HHS appeals board decision",
    "HHS case page",
)


def host_of(url: str) -> str:
    """The address's host, lower case, without port or leading "www."."""
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def host_kind(url: str) -> str:
    """The kind of site a research source is on, from HOST_KINDS; "Other source" for any other host."""
    host = host_of(url)
    while host:
        if host in HOST_KINDS:
            return HOST_KINDS[host]
        host = host.partition(".")[2] if "." in host.partition(".")[2] else ""
    return "Other source"


def _is_hhs(host: str) -> bool:
    return host == "hhs.gov" or host.endswith(".hhs.gov")


def archived_hhs_url(url: str) -> str | None:
    """The hhs.gov address a web archive's copy keeps (pagefreezer, the CyberCemetery), else None."""
    host = host_of(url)
    if not any(host == a or host.endswith("." + a) for a in ARCHIVE_HOSTS):
        return None
    # archives write the kept address with one slash after the scheme at times ("http:/www.hhs.gov/...")
    inner = re.search(r"https?:/+(?:www\.)?hhs\.gov(/\S*)", unquote(url))
    return "https://www.hhs.gov" + inner.group(1) if inner else None


def hhs_label(url: str, kind: str | None = None) -> str | None:
    """What an hhs.gov document is ("HHS press release", "HHS resolution agreement", "HHS penalty notice",
    "HHS appeals board decision", "HHS case page"), from its address (or the crawler's `kind`
    press_release); None for an address that is not on hhs.gov."""
    if not _is_hhs(host_of(url)):
        return None
    path = urlsplit(url).path.lower()
    # the document's own name: ".../agreements/banner-health-ra-cap/index.html" is the agreement, while
    # ".../agreements/anthem/index.html" is the case page that links it
    parts = [p for p in path.split("/") if p and not p.startswith("index.")]
    name = parts[-1] if parts else ""
    if kind == "press_release" or re.search(r"^/(about/news|news/press|press-room)/|press-release", path):
        return "HHS press release"
    if "/dab/" in path:
        return "HHS appeals board decision"
    if re.search(r"(^|[-_])(npd|nfd)([-_.]|$)|cmp\.html$|notice-of-(proposed|final)", name):
        return "HHS penalty notice"
    if re.search(r"agreement|agrmnt|resagr|ra-?cap|(^|[-_])(ra|sa)([-_.]|$)|ra\.html$", name):
        return "HHS resolution agreement"
    return "HHS case page"


def source_label(url: str, kind: str | None = None) -> tuple[str, bool]:
    """(label, is HHS's own): an HHS document's label, an archived copy's label with "(archived copy)", or
    a research source's kind."""
    label = hhs_label(url, kind)
    if label:
        return label, True
    inner = archived_hhs_url(url)
    if inner:
        return f"{hhs_label(inner, kind)} (archived copy)", True
    return host_kind(url), False


def ordered_sources(documents: Iterable[dict]) -> list[dict]:
    """The documents with `label` and `hhs` set, HHS's own first (live pages before archived copies, in
    HHS_ORDER), then the research sources by kind (KIND_ORDER); the given order otherwise."""
    labelled = []
    for position, d in enumerate(documents):
        label, hhs = source_label(d["url"], d.get("kind"))
        labelled.append((position, dict(d, label=label, hhs=hhs)))

    def rank(item: tuple[int, dict]) -> tuple:
        position, d = item
        if d["hhs"]:
            base = d["label"].removesuffix(" (archived copy)")
            return (0, d["label"].endswith("(archived copy)"), HHS_ORDER.index(base), position)
        return (1, False, KIND_ORDER.index(d["label"]), position)

    return [d for _, d in sorted(labelled, key=rank)]
