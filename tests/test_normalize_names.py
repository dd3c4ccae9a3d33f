"""Entity names: display form and match key. Cases are real names from the Breach Portal exports."""

import re
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from etl.normalize.names import clean_name, name_key, name_keys, slugify, split_aliases


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
