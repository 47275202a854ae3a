"""Stage 3b by hand: one reference model at one noise level, or a sigma-free one at several (rules
reference_counted, reference_network and their _sigma_free twins)."""

from __future__ import annotations

from bayesbach.cli.common import command, dataset_of, job_args, path, study_config
from bayesbach.core.exceptions import StudyError
from bayesbach.core.layout import reference_dir
from bayesbach.core.registry import REFERENCES, SIGMA_FREE, reference_names


def cmd_reference(args) -> int:
    from bayesbach.references import check_sigma_free

    check_sigma_free(args.name, args.noise)  # the arguments first, before the config and the dataset
    config = study_config(args)
    dataset = dataset_of(args)
    if args.out and len(args.noise) > 1:
        raise StudyError("--out names one noise level's folder: score several without it (into RESULTS/references)")
    outs = [args.out] if args.out else [path(args.results, reference_dir(args.name, s)) for s in args.noise]
    common = {"name": args.name, "noises": args.noise, "seed": config["seed"]}
    kind = REFERENCES[args.name].kind
    if kind == "counted":
        from bayesbach.references.counted import counted_reference

        metas = counted_reference(dataset, outs, encoding=config["train"]["encoding"],
                                  settings=REFERENCES[args.name].params(config["references"]), **common)
    elif kind == "trained":
        from bayesbach.references.trained import network_reference

        refs = config["references"]
        metas = network_reference(dataset, outs, refs=refs, train=config["train"], gap=config["dataset"]["gap"],
                                  device=args.device or config["device"], threads=args.threads or refs["threads"],
                                  **common)
    else:
        raise ValueError(f"reference {args.name!r} has an unknown kind {kind!r}")
    for out, meta in zip(outs, metas):
        print(f"{args.name} at sigma={meta['noise']!r}: {meta['seconds']:.1f} s; written to {out}")
    return 0


def register(sub) -> None:
    c = command(sub, "reference", cmd_reference, "fit and score one reference model at one noise level, or at several "
                                                 "for one that does not depend on it (the config's references:)")
    c.add_argument("name", choices=list(REFERENCES),
                   help="; ".join(f"{kind}: {', '.join(reference_names(kind))}" for kind in ("counted", "trained")))
    c.add_argument("--noise", type=float, nargs="+", required=True,
                   help=f"noise standard deviation(s) sigma; several only for {', '.join(SIGMA_FREE)} (fitted once)")
    job_args(c, "RESULTS/references/sNOISE/NAME", "seed, dataset.gap (trained ones), device, train:, references:",
             "references.threads")
