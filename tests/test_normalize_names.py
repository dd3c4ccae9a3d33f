"""Entity names: display form and match key. Cases are real names from the Breach Portal exports."""

import re
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from etl.normalize.names import clean_name, name_key, name_keys, reduced_key, slugify, split_aliases


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Rocky Mountain Associated Physicians, P.C. ", "Rocky Mountain Associated Physicians, P.C."),
        ("Blue Shield of California ", "Blue Shield of California"),
        ("  Miracle  -   Ear ", "Miracle - Ear"),
        ("Saint\tJoseph\nHospital", "Saint Joseph Hospital"),
        ("Acme\x00 Health", "Acme Health"),
        ("Laboratorio Cli\u0301nico Caparros", "Laboratorio Cl\u00ednico Caparros"),  # NFC
        ("VIRTUAL RADIOLOGIC PROFESSIONALS, LLC", "VIRTUAL RADIOLOGIC PROFESSIONALS, LLC"),  # case is kept
    ],
)
def test_clean_name(raw, expected):
    assert clean_name(raw) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Bay Oral Surgery & Implant Center", "bay oral surgery and implant center"),
        ("T&P Consulting, INC. d/b/a Quantum Health Consulting", "t and p consulting"),
        ("T & P Consulting, Inc. d/b/a Quantum Health Consulting", "t and p consulting"),
        ("CVS Caremark Part D Services, L.L.C. (\u201cCVS\u201d)", "cvs caremark part d services"),
        ("The Oregon Clinic, P.C. (\u201cThe Oregon Clinic\u201d)", "oregon clinic"),
        ("Interventional Pain Center, PLLC", "interventional pain center"),
        ("Rocky Mountain Associated Physicians, P.C. ", "rocky mountain associated physicians"),
        ("Village Heart Seller, PC d/b/a Village Heart & Vein Center ", "village heart seller"),
        ("Gail J May Ltd d/b/a/ Insight Optical", "gail j may"),
        ("MHNU Corporation d/b/a Medical Home Network", "mhnu"),
        (
            "Guardian Pharmacy of Cincinnati LLC dba Mullaney\u2019s, A Guardian Pharmacy",
            "guardian pharmacy of cincinnati",
        ),
        ("California Physicians\u2019 Services DBA Blue Shield of California", "california physicians services"),
        ("Warby Parker Inc. (f/k/a JAND Inc. d/b/a Warby Parker)", "warby parker"),
        ("Personal Touch Home-Aides, Inc.", "personal touch home aides"),
        ("Personal Touch Home Aides Inc.", "personal touch home aides"),
        ("Brigham and Women\u2019s Hospital ", "brigham and womens hospital"),
        ("Laboratorio Cl\u00ednico Caparros", "laboratorio clinico caparros"),
        (
            "The Kroger Co., for itself and its affiliates and subsidiaries",
            "kroger co for itself and its affiliates and subsidiaries",
        ),
        ("Aetna Life Insurance Company", "aetna life insurance"),
        ("Michael R. Schwartz, MD Inc.", "michael r schwartz md"),
        ("Dbase Health", "dbase health"),  # "dba" only as a word
        ("The", "the"),  # never reduced to nothing
        ("Co.", "co"),
    ],
)
def test_name_key(raw, expected):
    assert name_key(raw) == expected


def test_name_keys_include_dba_names():
    assert name_keys("California Physicians\u2019 Service d/b/a Blue Shield of California") == [
        "california physicians service",
        "blue shield of california",
    ]
    assert split_aliases("Capital Vision Services d/b/a MyEyeDr.") == ["Capital Vision Services", "MyEyeDr."]
    assert split_aliases("Kaiser Foundation Health Plan") == ["Kaiser Foundation Health Plan"]


@pytest.mark.parametrize(
    "key, expected",
    [
        ("bay oral surgery and implant center", "bay-oral-surgery-and-implant-center"),
        ("", "unnamed"),
        ("a " * 60, ("a-" * 40).rstrip("-")),  # cut at a word boundary, at most 80 characters
    ],
)
def test_slugify(key, expected):
    assert slugify(key) == expected


@given(st.text(alphabet=string.ascii_letters + string.digits + " .,&'-/()\t", max_size=60))
def test_key_ignores_case_and_padding(name):
    key = name_key(f"  {name.upper()} ")
    assert key == name_key(name.lower())
    assert re.fullmatch(r"([a-z0-9]+( [a-z0-9]+)*)?", key)
    assert clean_name(clean_name(name)) == clean_name(name)


# reduced_key (entity resolution only): real names of the Breach Portal and the curated actions.
@pytest.mark.parametrize(
    "name, state, expected",
    [
        ("Kaiser Foundation Health Plan, Inc., Southern California", "CA", "kaiser foundation health plan"),
        ("Kaiser Foundation Hospitals, Northern California", "CA", "kaiser foundation hospitals"),
        ("Allegheny County, Pennsylvania", "PA", "allegheny county"),
        ("Public Health Trust of Miami-Dade County, Florida", "FL", "public health trust of miami dade county"),
        ("County of Rock, WI", "WI", "county of rock"),
        ("Anthem Affiliated Covered Entities", "IN", "anthem"),
        ("Anthem ACE", "IN", "anthem"),
        ("UnitedHealth Group Single Affiliated Covered Entity (SACE)", "MN", "unitedhealth group"),
        ("Indiana University Health, Affiliated Covered Entity", "IN", "indiana university health"),
        ("Community Health Network, Inc. as an Affiliated Covered Entity", "IN", "community health network"),
        ("Palo Verde Hospital, Privacy Manager Breach", "CA", "palo verde hospital"),
        ("UW Medicine, Privacy Manager - Breach", "WA", "uw medicine"),
        ("The Home for the Little Wanderers", "MA", "home for little wanderers"),
        # left as name_key gives them: the state is part of the name, or names a separate corporation
        ("Children's Hospital Colorado", "CO", "childrens hospital colorado"),
        ("Molina Healthcare of California", "CA", "molina healthcare of california"),
        ("Kaiser Foundation Health Plan of Colorado", "CO", "kaiser foundation health plan of colorado"),
        ("SCL Health \u2013 Kansas", "CO", "scl health kansas"),  # another state than the record's
        ("University of California, San Francisco", "CA", "university of california san francisco"),
        ("Gastroenterology Consultants of South Texas", "TX", "gastroenterology consultants of south texas"),
        (
            "Kaiser Foundation Health Plan, Inc., Southern California",
            "NV",
            "kaiser foundation health plan inc southern california",
        ),
        # hand-written (the data has no such name): ", MD" is a degree, "Ace" a word; only capital ACE goes
        ("Jane Doe, MD", "MD", "jane doe md"),
        ("Ace Pharmacy Ace", "CA", "ace pharmacy ace"),
        ("Affiliated Covered Entity", "CA", "affiliated covered entity"),  # never reduced to nothing
    ],
)
def test_reduced_key(name, state, expected):
    assert reduced_key(name, state) == expected


@given(st.text(alphabet=string.ascii_letters + " ,.-", max_size=60), st.sampled_from(["CA", "MD", "NY", None]))
def test_reduced_key_is_a_plain_key_no_longer_than_the_name_key(name, state):
    key = reduced_key(name, state)
    assert re.fullmatch(r"([a-z0-9]+( [a-z0-9]+)*)?", key)
    assert len(key) <= len(name_key(name)) or key == name_key(name)
