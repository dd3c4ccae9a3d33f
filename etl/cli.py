"""The `kb` command: thin click commands over the etl package's Python API."""

from __future__ import annotations

import json
from pathlib import Path

import click

from etl.agencies import AGENCY_SHORT
from etl.build import build as build_kb
from etl.context import REPO_ROOT, BuildError

SNAPSHOT_ENVVAR = "KB_SNAPSHOT_DIR"  # the Makefile and the tests set the snapshot folder through it
DEFAULT_DB = REPO_ROOT / "data" / "kb.db"


def in_repo(path: Path) -> str:
    """How a default path is shown in --help: relative to the repository, so the docs show no machine paths."""
    return (
        str(path.relative_to(REPO_ROOT))
        if path.is_relative_to(REPO_ROOT)
        else f"../{path.relative_to(REPO_ROOT.parent)}"
    )


def db_option(must_exist: bool = True):
    """The --db option every command that reads or writes the database shares."""
    return click.option(
        "--db",
        "db_path",
        default=DEFAULT_DB,
        show_default=in_repo(DEFAULT_DB),
        type=click.Path(path_type=Path, dir_okay=False, exists=must_exist),
        help="The SQLite database (Datasette serves it as `kb`, so its file name is kb.db).",
    )


def agency_option():
    """The --agency filter of the commands that find cases (kb similar, kb precedents)."""
    return click.option(
        "--agency",
        "agencies",
        multiple=True,
        metavar="AGENCY",
        help="Only the actions of this enforcer: ocr, state_ag, ftc, doj (repeat or comma-separate; default every one).",
    )


def repo_path_option(name: str, default: Path, help: str, **kwargs):
    return click.option(
        name, type=click.Path(path_type=Path), default=default, show_default=in_repo(default), help=help, **kwargs
    )


@click.group()
@click.version_option(package_name="hipaa-enforcement-kb")
def cli() -> None:
    """HIPAA enforcement-case research knowledge base."""


@cli.command()
@repo_path_option(
    "--snapshot-dir",
    REPO_ROOT.parent / "shared" / "snapshot",
    envvar=SNAPSHOT_ENVVAR,
    help=f"Recorded exports to replay (breach_portal/, hhs_press_releases/); also ${SNAPSHOT_ENVVAR}.",
)
@db_option(must_exist=False)
@repo_path_option(
    "--raw-dir", REPO_ROOT / "data" / "raw", help="Raw JSONL the crawl stage writes, one file per export."
)
@repo_path_option("--cache-dir", REPO_ROOT / "data" / "cache", help="Embedding cache (vectors keyed by text hash).")
@repo_path_option("--curated-dir", REPO_ROOT / "data" / "curated", help="Curated facts and override files.")
@click.option("--no-crawl", is_flag=True, help="Reuse the raw JSONL already in --raw-dir.")
@click.option("--force", is_flag=True, help="Rebuild even when the database was built from these same inputs.")
def build(
    snapshot_dir: Path, db_path: Path, raw_dir: Path, cache_dir: Path, curated_dir: Path, no_crawl: bool, force: bool
) -> None:
    """Build the database from the recorded snapshot (atomic: a failure keeps the old database). A database
    built from the same inputs (raw files, curated facts, reference tables, code, libraries) is kept."""
    try:
        ctx = build_kb(
            snapshot_dir, db_path, raw_dir, cache_dir, curated_dir, echo=click.echo, crawl=not no_crawl, force=force
        )
    except BuildError as e:
        raise click.ClickException(str(e)) from e
    if not ctx.counts.get("kept"):
        click.echo(f"built {db_path}")


@cli.command()
@db_option()
@click.option("--port", type=int, default=8001, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
def serve(db_path: Path, port: int, host: str) -> None:
    """Serve the database read-only with Datasette."""
    import os
    import sys

    from etl.site import check_database_name, serve_command, write_metadata

    try:
        check_database_name(db_path)
    except ValueError as e:
        raise click.ClickException(str(e)) from e
    metadata = write_metadata(db_path.parent / "metadata.json")
    cmd = serve_command(db_path, port, metadata, host=host)
    executable = str(Path(sys.executable).parent / cmd[0])
    os.execv(executable, [executable, *cmd[1:]])


@cli.command()
@db_option()
@repo_path_option("--out", REPO_ROOT / "dist", help="Bundle folder (replaced as a whole).")
def publish(db_path: Path, out: Path) -> None:
    """Write a deployable site bundle: database, merged metadata, a wheel of the project (the site package
    kb_site, with its templates and static files), requirements.txt, run.sh."""
    from etl.site import publish_bundle

    try:
        bundle = publish_bundle(db_path, out)
    except (ValueError, RuntimeError) as e:
        raise click.ClickException(str(e)) from e
    click.echo(f"published {bundle} (start it with {bundle / 'run.sh'} [PORT])")


@cli.command()
@repo_path_option(
    "--out",
    REPO_ROOT / "data" / "snapshot",
    help="Snapshot folder the fresh exports are saved into (breach_portal/...).",
)
@repo_path_option("--raw-dir", REPO_ROOT / "data" / "raw", help="Raw JSONL the crawl writes.")
@click.option(
    "--force",
    is_flag=True,
    help="Save what was fetched even if it has under 80% of the rows (or pages) of the last good crawl.",
)
@click.option("--export-date", default=None, help="Date stamped on the saved exports (default: today).")
@click.option(
    "--record",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Also save every HTTP exchange under RECORD/<spider>/ (a replayable recording; docs/crawling.md).",
)
@click.option(
    "--inspect",
    "inspect_page",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="Crawl nothing: print as JSON what the crawler reads from this saved page (portal or hhs.gov).",
)
@click.option("--url", default=None, help="With --inspect: the address the page was saved from.")
def crawl(
    out: Path,
    raw_dir: Path,
    force: bool,
    export_date: str | None,
    record: Path | None,
    inspect_page: Path | None,
    url: str | None,
) -> None:
    """Live crawl (needs internet): save fresh Breach Portal exports into --out, crawl HHS enforcement pages."""
    if inspect_page is not None:
        from crawlers.inspect import inspect_saved_page

        click.echo(json.dumps(inspect_saved_page(inspect_page.read_bytes(), url), indent=1))
        return
    import os
    import subprocess
    import sys

    from crawlers.live import live_crawl_commands

    env = dict(os.environ, SCRAPY_SETTINGS_MODULE="crawlers.settings")
    failed = []
    record = record.resolve() if record is not None else None
    for cmd in live_crawl_commands(sys.executable, out.resolve(), raw_dir.resolve(), force, export_date, record):
        click.echo(f"crawl  {cmd[4]} (live)")
        if subprocess.run(cmd, cwd=REPO_ROOT, env=env).returncode != 0:
            failed.append(cmd[4])
    if failed:
        raise click.ClickException(f"live crawl failed for: {', '.join(failed)} (see the log above)")
    click.echo(f"saved fresh exports under {out}")
    if record is not None:
        click.echo(f"recorded the exchanges under {record} (replay: docs/crawling.md, Recording a real exchange)")


@cli.command("import-export")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--tab",
    required=True,
    type=click.Choice(["archive", "under_investigation"]),
    help="The portal tab the export was taken from.",
)
@click.option("--date", "export_date", required=True, metavar="YYYY-MM[-DD]", help="When the export was taken.")
@click.option(
    "--list",
    "list_",
    type=click.Choice(["hipaa", "part2"]),
    default="hipaa",
    show_default=True,
    help="hipaa (breach_report_hip.jsf) or part2 (breach_report_part2.jsf, the 42 CFR Part 2 list).",
)
@repo_path_option(
    "--snapshot-dir",
    REPO_ROOT / "data" / "snapshot",
    help="Snapshot folder; the export goes into its breach_portal/ folder.",
)
def import_export(file: Path, tab: str, export_date: str, list_: str, snapshot_dir: Path) -> None:
    """Check a downloaded export (e.g. breach_report.csv) and copy it into the snapshot under the name the
    build reads (breach_report[_part2]_<tab>_<date>.csv), atomically, never overwriting another file."""
    from etl.import_export import ImportExportError
    from etl.import_export import import_export as import_file

    try:
        result = import_file(file, tab, export_date, list_, snapshot_dir)
    except ImportExportError as e:
        raise click.ClickException(str(e)) from e
    newest = f", newest submission {result.newest_submission}" if result.newest_submission else ""
    unreadable = f", {result.unreadable} unreadable (they will be in rejected_rows)" if result.unreadable else ""
    verb = "imported" if result.created else "already there, unchanged:"
    click.echo(f"{verb} {result.target} ({result.records} records{unreadable}{newest})")


@cli.command()
@click.argument("query", required=False)
@click.option("--like", "like_id", metavar="ACTION_ID", help="Find cases like this enforcement action instead.")
@click.option("--k", default=10, show_default=True, type=click.IntRange(1, 100), help="Number of results.")
@click.option(
    "--kind",
    type=click.Choice(["actions", "breaches", "all"]),
    default=None,
    help="What to return [default: all for QUERY, actions for --like].",
)
@click.option(
    "--ranker",
    type=click.Choice(["hybrid", "vector", "bm25"]),
    default="hybrid",
    show_default=True,
    help="Ranking for QUERY (--like always uses the stored vectors).",
)
@agency_option()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list, best first.")
@db_option()
def similar(
    query: str | None,
    like_id: str | None,
    k: int,
    kind: str | None,
    ranker: str,
    agencies: tuple[str, ...],
    as_json: bool,
    db_path: Path,
) -> None:
    """Find precedents: enforcement actions and breach reports similar to QUERY or to --like ACTION_ID."""
    import sqlite3

    from etl.similar import SearchError, open_searcher

    if (query is None) == (like_id is None):
        raise click.UsageError("give either QUERY or --like ACTION_ID")
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        searcher = open_searcher(conn)
        if like_id is not None:
            results = searcher.like(conn, like_id, k=k, kind=kind or "actions", agencies=agencies)
        else:
            assert query is not None  # exactly one of QUERY and --like, checked above
            results = searcher.search(conn, query, k=k, kind=kind or "all", ranker=ranker, agencies=agencies)
    except SearchError as e:
        raise click.ClickException(str(e)) from e
    finally:
        conn.close()
    if as_json:
        click.echo(json.dumps(results, indent=2))
        return
    for n, r in enumerate(results, 1):
        amount = f"${r['amount']:,}" if r["amount"] is not None else ""
        why = ", ".join([p["id"] or p["heading"] for p in r["shared_provisions"]] or r["matched_terms"])
        enforcer = f"[{AGENCY_SHORT.get(r['agency'], r['agency'])}] " if r.get("agency") else ""
        click.echo(
            f"{n:>2}. {r['score']:.4f}  {r['kind']:<6} {enforcer}{r['id']}  {r['entity']}  {r['date'] or ''}  {amount}".rstrip()
        )
        if why:
            click.echo(f"    why: {why}")


@cli.command()
@click.argument("query", required=False)
@click.option("--like", "like_id", metavar="ACTION_ID", help="Cases like this enforcement action instead.")
@click.option("--breach", "breach_id", metavar="BREACH_ID", help="Cases like this breach report instead.")
@click.option("--sector", help="e.g. physician_practice, hospital_health_system (a wrong value lists them all).")
@click.option("--entity-type", help="healthcare_provider, health_plan, business_associate or clearinghouse.")
@click.option("--breach-type", help="As the Breach Portal names it, e.g. 'Hacking/IT Incident'.")
@click.option("--location", help="Location of the information, as the Breach Portal names it, e.g. 'Network Server'.")
@click.option("--individuals", type=click.IntRange(min=1), help="Individuals affected (chooses the size band).")
@click.option("--state", help="Two-letter state code.")
@agency_option()
@click.option("--json", "as_json", is_flag=True, help="Print the JSON of /-/precedents.json instead of the memo.")
@db_option()
def precedents(
    query: str | None,
    like_id: str | None,
    breach_id: str | None,
    sector: str | None,
    entity_type: str | None,
    breach_type: str | None,
    location: str | None,
    individuals: int | None,
    state: str | None,
    agencies: tuple[str, ...],
    as_json: bool,
    db_path: Path,
) -> None:
    """What the enforcers did in cases like QUERY (or --like / --breach; --agency ocr for OCR's only): the
    precedents, what was done in them (amounts per enforcer, sentences of criminal cases), the
    base rate among like Breach Portal reports and today's penalty tiers, as a Markdown memo (or --json)."""
    import datetime
    import sqlite3

    from etl import precedents as prec
    from etl.precedents_memo import memo
    from etl.similar import SearchError, open_searcher

    facts = {"sector": sector, "entity_type": entity_type, "breach_type": breach_type, "location": location,
             "individuals_affected": individuals, "state": state}  # fmt: skip
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        question = prec.Query(
            text=query,
            like=like_id,
            breach=breach_id,
            facts=prec.parse_facts(conn, facts),
            agencies=tuple(agencies),
        )
        answer = prec.precedent_range(conn, open_searcher(conn), question)
    except SearchError as e:
        raise click.ClickException(str(e)) from e
    finally:
        conn.close()
    click.echo(json.dumps(answer, indent=2) if as_json else memo(answer, datetime.date.today().isoformat()).rstrip())


@cli.command()
@click.argument("text")
def cite(text: str) -> None:
    """Print the citations in TEXT ('-' reads stdin) as a JSON list of canonical strings, e.g.
    `kb cite "45 C.F.R. § 164.308(a)(1)(ii)(A) and (B)"`.

    \b
    45 CFR (HIPAA rules)        164.308(a)(1)(ii)(A), Part 164, 164 Subpart C, 164.400-164.414
    42 CFR Part 2               42 CFR Part 2, 42 CFR 2.31
    16 CFR Part 318 (FTC HBNR)  16 CFR Part 318, 16 CFR 318.3(a)
    FTC Act Section 5           15 U.S.C. 45(a) (also for "Section 5 of the FTC Act"), 15 U.S.C. 45d
    HIPAA statute               42 U.S.C. 1320d-5(d) (state AGs), 42 U.S.C. 1320d-6(a)(3) (criminal)"""
    from etl.citations import canonical_citations

    if text == "-":
        with click.open_file("-") as stdin:
            text = stdin.read()
    click.echo(json.dumps(canonical_citations(text)))


@cli.command("check-curated")
@click.argument(
    "path",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=REPO_ROOT / "data" / "curated" / "ocr_actions.jsonl",
)
# (PATH defaults to data/curated/ocr_actions.jsonl in the repository)
def check_curated(path: Path) -> None:
    """Check every line of the curated enforcement facts; print each problem as file:line: field: reason.

    PATH is OCR's file; the other enforcers' lists and amounts.csv in the beyond_ocr/ folder beside it are
    checked too, with the same rules as `kb build`."""
    from etl.curated import read_curated
    from etl.load_enforcers import check_folder

    valid, errors = read_curated(path)
    for e in errors:
        click.echo(str(e), err=True)
    others = check_folder(path.parent / "beyond_ocr") if (path.parent / "beyond_ocr").is_dir() else []
    for line in others:
        click.echo(line, err=True)
    if errors or others:
        bad = len({e.line for e in errors}) + len(others)
        raise click.ClickException(f"{bad} invalid line(s), {len(valid)} valid in {path.name}")
    click.echo(f"{path}: {len(valid)} records, all valid")
    if (path.parent / "beyond_ocr").is_dir():
        click.echo(f"{path.parent / 'beyond_ocr'}: every line valid")
