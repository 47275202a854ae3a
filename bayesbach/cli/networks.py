"""Stage 3 by hand: one network cell, or several trained packed (rules train_{arch}_h{hidden}_p{i}), and the
device-hours a study's networks need (estimate)."""

from __future__ import annotations

import json
from pathlib import Path

from bayesbach.cli.common import command, config_args, dataset_of, job_args, path, study_config
from bayesbach.core.exceptions import StudyError
from bayesbach.core.layout import model_dir
from bayesbach.core.registry import ARCHS, ENCODINGS

OVERRIDES = ("decode_batches", "probe_batches", "batch_size", "chunk_length", "val_every")  # train: keys, by option


def cmd_train(args) -> int:
    from bayesbach.networks.training_job import train_pack

    config = study_config(args)
    dataset = dataset_of(args)
    train = config["train"]
    for key in (*OVERRIDES, "encoding"):
        if getattr(args, key) is not None:
            train[key] = getattr(args, key)
    cells = [(noise, run) for run in args.run for noise in args.noise]
    if args.out and len(cells) > 1:
        raise StudyError("--out names one network's folder: train several cells without it (into RESULTS/models)")
    outs = [args.out] if args.out else [path(args.results, model_dir(args.arch, args.hidden, n, r)) for n, r in cells]
    metas = train_pack(dataset, outs, arch=args.arch, hidden=args.hidden, cells=cells, seed=config["seed"],
                       train=train, gap=config["dataset"]["gap"], device=args.device or config["device"],
                       threads=args.threads or train["threads"], progress=not args.no_progress)
    for out, meta in zip(outs, metas):
        print(f"best validation BCE: decode {meta['best_val']['decode']:.5f}, probe {meta['best_val']['probe']:.5f}; "
              f"written to {out}")
    return 0


def cmd_estimate(args) -> int:
    from bayesbach.core.resources import study_hours

    config = study_config(args)
    hours = study_hours(config, args.device)
    print(json.dumps({"device": args.device, **{f"{k}_hours": round(v, 1) for k, v in hours.items()}}))
    return 0


def register(sub) -> None:
    c = command(sub, "train", cmd_train, "train one network cell (decode, then probe) with the config's train: "
                                         "settings; several noise levels or runs train packed as one model")
    c.add_argument("--arch", choices=ARCHS, default="gru")
    c.add_argument("--hidden", type=int, required=True, help="hidden units")
    c.add_argument("--noise", type=float, nargs="+", required=True, help="noise standard deviation(s) sigma")
    c.add_argument("--run", type=int, nargs="+", default=[0],
                   help="run number(s) (seed the initialisation and the batches)")
    job_args(c, "RESULTS/models/ARCH/hH/sNOISE/rRUN", "seed, dataset.gap, device, train:", "train.threads")
    for key in OVERRIDES:
        c.add_argument("--" + key.replace("_", "-"), type=int, default=None, help=f"override train.{key}")
    c.add_argument("--encoding", choices=list(ENCODINGS), default=None, help="override train.encoding")
    c.add_argument("--no-progress", action="store_true", help="no progress bar")

    c = command(sub, "estimate", cmd_estimate, "device-hours a study needs (its networks and recurrent reference)")
    c.add_argument("configs", type=Path, nargs="*", default=[], metavar="CONFIG",
                   help="config files layered in order, the same as --config (default: config.yaml)")
    c.add_argument("--device", choices=["cuda", "cpu"], default="cuda", help="cpu: hours of one job's threads")
    config_args(c, "sweep:, train:, references:")
