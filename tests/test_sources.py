"""Case-brief sources (kb_site/sources.py): HHS's documents first and labelled by what they are, the rest
by the kind of site, any unknown host "Other source". Addresses are real ones of the curated file."""

from __future__ import annotations

import pytest

from kb_site.sources import HOST_KINDS, KIND_ORDER, archived_hhs_url, hhs_label, host_kind, ordered_sources

AGREEMENTS = "https://www.hhs.gov/hipaa/for-professionals/compliance-enforcement/agreements"


@pytest.mark.parametrize(
    "url, kind, label",
    [
        (
            "https://www.hhs.gov/about/news/2018/10/15/anthem-pays-ocr-16-million-record-hipaa-settlement-following-largest-health-data-breach-history.html",
            None,
            "HHS press release",
        ),
        ("http://www.hhs.gov/news/press/2014pres/04/20140422b.html", None, "HHS press release"),
        ("https://www.hhs.gov/press-room/ocr-hipaa-racap-deer-oaks.html", None, "HHS press release"),
        ("https://www.hhs.gov/guidance/document/case-example-cornell-press-release", None, "HHS press release"),
        (f"{AGREEMENTS}/anthem/index.html", None, "HHS case page"),
        (f"{AGREEMENTS}/banner-health-ra-cap/index.html", None, "HHS resolution agreement"),
        (f"{AGREEMENTS}/hitech-sa/index.html", None, "HHS resolution agreement"),
        ("https://www.hhs.gov/sites/default/files/ocr-hipaa-racap-pih.pdf", None, "HHS resolution agreement"),
        (
            "https://www.hhs.gov/ocr/privacy/hipaa/enforcement/examples/massgeneralra.html",
            None,
            "HHS resolution agreement",
        ),
        (
            "https://www.hhs.gov/ocr/privacy/hipaa/enforcement/examples/bcbstagrmnt.html",
            None,
            "HHS resolution agreement",
        ),
        (f"{AGREEMENTS}/pmi-npd/index.html", None, "HHS penalty notice"),
        ("https://www.hhs.gov/ocr/privacy/hipaa/enforcement/examples/cignetcmp.html", None, "HHS penalty notice"),
        (
            "https://hhs.gov/about/agencies/dab/decisions/alj-decisions/2023/alj-cr6232/index.html",
            None,
            "HHS appeals board decision",
        ),
        ("https://www.hhs.gov/guidance/document/cvs-settlement-landing-page", None, "HHS case page"),
        ("https://www.hhs.gov/ocr/privacy/hipaa/enforcement/examples/parkview.html", None, "HHS case page"),
        # the crawler's kind wins over the address
        ("https://www.hhs.gov/some/page.html", "press_release", "HHS press release"),
        # not hhs.gov, though the address says it
        ("https://www.hipaajournal.com/www.hhs.gov/about/news/x.html", None, None),
        ("https://hhs.gov.example.com/about/news/x.html", None, None),
    ],
)
def test_hhs_label(url, kind, label):
    assert hhs_label(url, kind) == label


@pytest.mark.parametrize(
    "url, kind",
    [
        (
            "https://www.huntonak.com/privacy-and-information-security-law/ocr-enters-record-settlement-anthem",
            "Law firm",
        ),
        ("https://cglawfirm.com/2018/11/22/anthem-agrees-to-pay-a-record-16-million", "Law firm"),
        (
            "https://www.fiercehealthcare.com/payer/anthem-pays-16m-settlement-to-ocr-for-2015-data-breach",
            "Trade press",
        ),
        ("https://production.jdsupra.com/legalnews/x", "Trade press"),  # a host under a listed domain
        ("https://www.reuters.com/article/x", "News"),
        ("https://compliancy-group.com/x", "Compliance vendor"),
        ("https://vdocuments.us/anthem-resolution-agreement-hhsgov-cap.html", "Copy of a document"),
        ("https://gist.github.com/kennwhite/4b085bb38baa73f4ad23", "Data set"),
        ("https://ankura.com/insights/anthem-settles-healthcare-data-breach-for-a-record-16-million/", "Other source"),
        ("https://notjdsupra.com/x", "Other source"),  # a suffix of the name is not its domain
        ("not an address", "Other source"),
    ],
)
def test_host_kind(url, kind):
    assert host_kind(url) == kind


def test_the_host_table_is_small_and_uses_known_kinds():
    assert len(HOST_KINDS) <= 120
    assert set(HOST_KINDS.values()) <= set(KIND_ORDER)
    assert all(host == host.lower() and not host.startswith("www.") for host in HOST_KINDS)


def test_archived_copies_of_hhs_pages_are_hhs_documents():
    kept = (
        "https://public3.pagefreezer.com/content/HHS.gov/30-12-2021T15:27/http:/www.hhs.gov/ocr/privacy/hipaa/"
        "enforcement/examples/affinity-agreement.html"
    )
    assert (
        archived_hhs_url(kept) == "https://www.hhs.gov/ocr/privacy/hipaa/enforcement/examples/affinity-agreement.html"
    )
    assert archived_hhs_url("https://www.hipaajournal.com/https://www.hhs.gov/x") is None
    [doc] = ordered_sources([{"url": kept, "kind": "research source"}])
    assert (doc["label"], doc["hhs"]) == ("HHS resolution agreement (archived copy)", True)


def test_hhs_first_in_order_then_research_sources_by_kind():
    docs = [
        {"url": "https://ankura.com/insights/x", "kind": "research source"},
        {"url": "https://www.fiercehealthcare.com/x", "kind": "research source"},
        {"url": f"{AGREEMENTS}/anthem/index.html", "kind": "hhs.gov page"},
        {"url": "https://www.huntonak.com/x", "kind": "research source"},
        {
            "url": "https://public3.pagefreezer.com:443/content/HHS.gov/31-12-2020T08:51/https://www.hhs.gov/"
            "about/news/2020/10/28/aetna-pays-one-million-to-settle-three-hipaa-breaches.html",
            "kind": "research source",
        },
        {"url": "https://www.hhs.gov/about/news/2018/10/15/anthem.html", "kind": "press_release"},
        {"url": "https://www.pbwt.com/y", "kind": "research source"},
    ]
    assert [(d["label"], d["url"].split("/")[2]) for d in ordered_sources(docs)] == [
        ("HHS press release", "www.hhs.gov"),
        ("HHS case page", "www.hhs.gov"),
        ("HHS press release (archived copy)", "public3.pagefreezer.com:443"),
        ("Law firm", "www.huntonak.com"),
        ("Law firm", "www.pbwt.com"),  # the given order within a kind
        ("Trade press", "www.fiercehealthcare.com"),
        ("Other source", "ankura.com"),
    ]
    assert ordered_sources([]) == []
