"""Every spider's contract, found by Scrapy: what `kb build` replays and what `kb crawl` runs live.

Each spider class in crawlers/spiders/ declares (docs/crawling.md):

    snapshot_folder      str | None  the snapshot sub-folder `kb build` replays with `-a export=<folder>`;
                                     None: the spider is only crawled live
    snapshot_required    bool        True: a snapshot without that folder stops the build; False: the build
                                     uses the raw files already in RAW_DIR/<spider name>
    live_saves_snapshot  bool        True: `kb crawl` passes `-a out=<snapshot>/<snapshot_folder>` (and
                                     `force`, `export_date`); the spider saves what it fetched there
    raw_file_stem(item)  -> str      the raw file an item goes to (crawlers.pipelines.RawJsonlPipeline;
                                     optional `raw_files_at_open()`: files written even with no item)

`spiders()` lists them through Scrapy's SpiderLoader (SPIDER_MODULES of crawlers.settings): adding a spider
module is all it takes, there is no list to keep. Scrapy is imported only when `spiders()` is called.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DECLARED = ("snapshot_folder", "snapshot_required", "live_saves_snapshot")


class ContractError(TypeError):
    """A spider class does not declare its contract, or declares an impossible one."""


@dataclass(frozen=True)
class SpiderContract:
    name: str
    snapshot_folder: str | None
    snapshot_required: bool
    live_saves_snapshot: bool
    spider_class: type = field(compare=False, repr=False)


def contract(spider_class: Any) -> SpiderContract:
    """The declared contract of one spider class; a missing or inconsistent declaration names the class."""
    where = f"spider {getattr(spider_class, 'name', None)!r} ({spider_class.__module__}.{spider_class.__qualname__})"
    missing = [a for a in DECLARED if not hasattr(spider_class, a)]
    if not callable(getattr(spider_class, "raw_file_stem", None)):
        missing.append("raw_file_stem(item)")
    if missing:
        raise ContractError(f"{where} does not declare {', '.join(missing)} (see docs/crawling.md)")
    folder = spider_class.snapshot_folder
    if folder is None and (spider_class.snapshot_required or spider_class.live_saves_snapshot):
        raise ContractError(f"{where}: snapshot_required / live_saves_snapshot need a snapshot_folder")
    return SpiderContract(
        spider_class.name,
        folder,
        bool(spider_class.snapshot_required),
        bool(spider_class.live_saves_snapshot),
        spider_class,
    )


def spiders() -> list[SpiderContract]:
    """Every spider of the project with its contract, by name."""
    from scrapy.settings import Settings
    from scrapy.spiderloader import get_spider_loader

    settings = Settings()
    settings.setmodule("crawlers.settings", priority="project")
    loader = get_spider_loader(settings)
    return [contract(loader.load(name)) for name in sorted(loader.list())]
