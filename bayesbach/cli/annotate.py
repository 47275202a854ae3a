"""The study's models on any stimuli by hand (rule annotate for the test split): per-chord information content,
entropy and Bayesian surprise in bits at the chords' onsets (bayesbach.evaluation.annotate)."""

from __future__ import annotations

from pathlib import Path

from bayesbach.cli.common import command, config_args, dataset_arg, dataset_of, path, results_arg, study_config
from bayesbach.core.exceptions import StudyError
from bayesbach.core.layout import ANNOTATION_DIR, annotation_models


def names(text: str | None) -> list[str] | None:
    """A comma-separated list of names; None (every one) when not given, [] for an empty string."""
    return None if text is None else [n.strip() for n in text.split(",") if n.strip()]


def cmd_annotate(args) -> int:
    from bayesbach.evaluation.annotate import annotate, annotate_files
    from bayesbach.evaluation.annotation_files import split_stimuli

    options = dict(results=args.results, models=names(args.models), networks=names(args.networks), noise=args.noise,
                   rate=args.rate, mat=args.mat, threads=args.threads)
    if args.paths:
        if args.out is None:
            raise StudyError("--out names the folder the annotation of PATHS is written to")
        out, done = args.out, annotate(args.paths, args.out, **options)
    else:  # the rule's job: the test split with the config's models, into RESULTS/annotations
        dataset = dataset_of(args)
        for key, chosen in annotation_models(study_config(args)).items():  # what --models/--networks leave open
            options[key] = chosen if options[key] is None else options[key]
        out = args.out or path(args.results, ANNOTATION_DIR)
        done = annotate_files(split_stimuli(dataset), out, **options)
    print(f"{done['stimuli']} stimuli ({done['events']} chords) annotated with {done['models']} models in "
          f"{done['seconds']:.1f} s, {done['rejects']} rejected (rejects.parquet); written to {out}")
    return 0


def register(sub) -> None:
    c = command(sub, "annotate", cmd_annotate,
                "per-chord information content, entropy and Bayesian surprise (bits) of any MIDI stimuli under a "
                "finished study's models: OUT/<stem>_events.tsv and .json, annotations.parquet, rejects.parquet")
    c.add_argument("paths", type=Path, nargs="*", metavar="PATHS",
                   help="MIDI files, or folders searched for them (default: the study's test split, as the rule does, "
                        "with the config's references and cells)")
    c.add_argument("--out", type=Path, default=None,
                   help="the folder written (needed with PATHS; default for the test split: RESULTS/annotations)")
    config_args(c, "its references and network cells, for the test split")
    dataset_arg(c)
    results_arg(c)
    c.add_argument("--models", default=None, metavar="NAMES",
                   help="references annotated, comma-separated (default: every one of the study that predicts; "
                        "'' for none)")
    c.add_argument("--networks", default=None, metavar="CELLS",
                   help="network cells ARCH_hHIDDEN_sNOISE, comma-separated (default: every cell, its runs a "
                        "mixture; '' for none)")
    c.add_argument("--noise", type=float, default=0.0, metavar="SIGMA",
                   help="the noise the models see (default 0: the stimulus as heard; > 0: the study's common random "
                        "numbers)")
    c.add_argument("--rate", type=float, default=None, metavar="HZ",
                   help="also <stem>_regressors.tsv: impulses at the onsets scaled by each measure, sampled at HZ")
    c.add_argument("--mat", action="store_true", help="the regressors also as <stem>_regressors.mat (needs --rate)")
    c.add_argument("--threads", type=int, default=None, help="CPU threads")
