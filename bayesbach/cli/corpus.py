"""Stage 1 by hand: the corpus sources (rules export_bundled, crawl_web, import_folder) into data/raw/SOURCE/."""

from __future__ import annotations

import json
from pathlib import Path

from bayesbach.cli.common import command, config_args, study_config, workers, workers_arg
from bayesbach.core.layout import source_dir


def cmd_export_bundled(args) -> int:
    from bayesbach.corpus.bundled import export_bundled

    max_works = args.max_works if args.max_works is not None else study_config(args)["corpus"]["max_works"]
    kept = export_bundled(args.out, max_works, workers(args))
    print(f"{kept} bundled scores exported to {args.out}")
    return 0 if kept else 1


def cmd_crawl_web(args) -> int:
    from dataclasses import replace

    from bayesbach.corpus.crawl import CrawlOptions, crawl
    from bayesbach.corpus.crawl.run import format_summary

    if args.start_url:  # a crawl of one's own: the command line alone
        options = CrawlOptions(start_urls=args.start_url)
    else:  # the study's crawl, as its rule runs it
        options = CrawlOptions.from_config(study_config(args)["corpus"]["web"])
    options = replace(options, **{k: v for k, v in (
        ("depth", args.depth), ("follow", args.follow), ("max_file_mb", args.max_file_mb)) if v is not None})
    summary = crawl(args.out, options.impolite() if args.no_delay else options)
    print(json.dumps(summary) if args.json else format_summary(summary, args.out))
    return 0


def cmd_import_folder(args) -> int:
    from bayesbach.corpus.folder import export_folder

    paths = args.paths or study_config(args)["corpus"]["folder"]["paths"]
    kept = export_folder(paths, args.out)
    print(f"{kept} MIDI files of {', '.join(map(str, paths))} copied to {args.out} with their manifest")
    return 0 if kept else 1


def register(sub) -> None:
    c = command(sub, "export_bundled", cmd_export_bundled, "export music21's bundled Bach scores to MIDI with a manifest")
    c.add_argument("--out", type=Path, default=Path(source_dir("bundled")))
    c.add_argument("--max-works", type=int, default=None,
                   help="only the first N compositions (default: the config's corpus.max_works)")
    workers_arg(c)
    config_args(c, "corpus.max_works, workers; not read with --max-works and --workers")

    c = command(sub, "crawl_web", cmd_crawl_web,
                "crawl web archives for Bach MIDI files into a source folder with its manifest")
    c.add_argument("--out", type=Path, default=Path(source_dir("web")), help="the web source's folder")
    c.add_argument("--start-url", action="append", default=None,
                   help="a listing page to start from (repeatable); with it the crawl takes its options from the "
                        "command line alone, without it from the config's corpus.web")
    c.add_argument("--depth", type=int, default=None, help="links to follow away from a start URL (default 3)")
    c.add_argument("--follow", action="append", default=None, metavar="REGEX",
                   help="follow page links whose URL matches (repeatable; default: bach, bwv)")
    c.add_argument("--max-file-mb", type=float, default=None, help="largest download kept (default 16)")
    c.add_argument("--no-delay", action="store_true", help="no pauses between requests: only for a server of your own")
    c.add_argument("--json", action="store_true", help="print the summary as one JSON line")
    config_args(c, "corpus.web; not read with --start-url")

    c = command(sub, "import_folder", cmd_import_folder,
                "folders of MIDI files as the corpus: the folder source (data/raw/folder/)")
    c.add_argument("paths", type=Path, nargs="*", metavar="FOLDER",
                   help="folders searched recursively (default: the config's corpus.folder.paths)")
    c.add_argument("--out", type=Path, default=Path(source_dir("folder")))
    config_args(c, "corpus.folder.paths; not read with FOLDER")
