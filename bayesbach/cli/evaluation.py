"""Stage 4 by hand: one network's evaluation (rules evaluate_{arch}_h{hidden}_p{i}), the long tables
(collect_evaluation), what is computed from them (stats, orders) and whether each trained stage converged
(convergence)."""

from __future__ import annotations

from pathlib import Path

from bayesbach.cli.common import (MissingInput, command, config_args, dataset_of, flat, found, joining_args, path,
                                  require, results_arg, scoring_args, study_config)
from bayesbach.core.layout import (CONVERGENCE, EVALUATION_DIR, NETWORK_EVALUATION_DIR, REFERENCE_DIR,
                                   collect_evaluation_inputs, convergence_inputs, network_evaluation_dir,
                                   reference_dir)


def cmd_evaluate(args) -> int:
    from bayesbach.evaluation.evaluation_job import evaluate_network
    from bayesbach.networks.models import load_network

    _, meta = load_network(args.model, "decoder")  # NotTrained, naming what is missing, before anything runs
    config = study_config(args)
    dataset = dataset_of(args)
    cell = network_evaluation_dir(meta["arch"], meta["hidden"], meta["noise"], meta["run"])
    out = args.out or path(args.results, cell)
    require(dataset / "file_keys.parquet", hint="bayesbach file_keys writes it")
    # the key decoding's observer control, as the rule has it: the study's bayes at the network's noise level
    bayes = path(args.results, reference_dir("bayes", meta["noise"])) if "bayes" in config["references"]["models"] \
        else None
    if bayes is not None and not (bayes / "meta.json").exists():
        print(f"note: {bayes / 'meta.json'} is missing (bayesbach reference bayes --noise {meta['noise']} writes it): "
              "keys.parquet is written without its observer control (control_observer)")
        bayes = None
    summary = evaluate_network(dataset, args.model, out / "errors.parquet", out / "encoding.parquet",
                               out / "keys.parquet", seed=config["seed"], threads=args.threads, observer_dir=bayes)
    print(f"test BCE: decode {summary['decode']:.5f}, predict {summary['predict']:.5f}; effective memory "
          f"{summary['memory']:.2f} steps; written to {out}")
    return 0


def cmd_collect_evaluation(args) -> int:
    import pyarrow.parquet as pq

    from bayesbach.evaluation.collect import collect_evaluation

    results = args.results
    if args.sweep:  # exactly the workflow rule's inputs
        inputs = {k: flat(v) for k, v in collect_evaluation_inputs(study_config(args), results).items()}
        require(*flat(inputs), hint="bayesbach evaluate and reference write them")
        encodings, keys = inputs["encoding"], inputs["key_decoding"]
        networks, refs = inputs["errors"][:len(encodings)], inputs["errors"][len(encodings):]  # the networks' first
    else:  # whatever has been evaluated
        networks = found(results, NETWORK_EVALUATION_DIR, "errors.parquet")
        encodings = found(results, NETWORK_EVALUATION_DIR, "encoding.parquet")
        keys = found(results, NETWORK_EVALUATION_DIR, "keys.parquet")
        refs = found(results, REFERENCE_DIR, "errors.parquet")
        if not networks and not refs:
            raise MissingInput(f"no evaluation tables under {results} (evaluation/networks/**/errors.parquet, "
                               "references/*/*/errors.parquet); bayesbach evaluate and reference write them")
    out = args.out or path(results, EVALUATION_DIR)
    collect_evaluation(networks + refs, encodings, out / "errors.parquet", out / "encoding.parquet", keys,
                       out / "keys.parquet")
    rows = {name: pq.read_metadata(out / f"{name}.parquet").num_rows for name in ("errors", "encoding", "keys")}
    print(f"collected {len(networks)} network and {len(refs)} reference error tables ({rows['errors']} rows), "
          f"{len(encodings)} encoding tables ({rows['encoding']} rows) and {len(keys)} key-decoding tables "
          f"({rows['keys']} rows); written to {out}")
    return 0


def from_errors(args, filename: str, write):
    """Run ``write(errors.parquet, out)`` for a table made from the errors alone; returns (table, out)."""
    errors = args.errors or path(args.results, EVALUATION_DIR) / "errors.parquet"
    out = args.out or path(args.results, EVALUATION_DIR) / filename
    require(errors, hint="bayesbach collect_evaluation writes it")
    return write(errors, out), out


def cmd_stats(args) -> int:
    from bayesbach.evaluation.stats import write_stats

    encoding = args.encoding or path(args.results, EVALUATION_DIR) / "encoding.parquet"

    def write(errors: Path, out: Path):  # the errors first, then the prediction-error coding it also tests
        require(encoding, hint="bayesbach collect_evaluation writes it")
        return write_stats(errors, out, encoding)

    table, out = from_errors(args, "stats.csv", write)
    print(f"{len(table)} comparisons written to {out}")
    return 0


def cmd_orders(args) -> int:
    from bayesbach.evaluation.effective_order import write_orders

    table, out = from_errors(args, "orders.csv", write_orders)
    print(f"{len(table)} network cells placed on the ladder of ideal observers; written to {out}")
    return 0


def cmd_convergence(args) -> int:
    from bayesbach.evaluation.convergence import write_convergence

    inputs = convergence_inputs(study_config(args), args.results)  # exactly the workflow rule's
    require(*flat(inputs), hint="bayesbach train and reference write them")
    dirs = {kind: list(dict.fromkeys(p.parent for p in flat(files))) for kind, files in inputs.items()}
    out = args.out or path(args.results, CONVERGENCE)
    table = write_convergence(dirs["networks"], dirs["references"], out)
    print(f"{int(table['converged'].sum())} of {len(table)} trained stages converged; written to {out}")
    return 0


def register(sub) -> None:
    c = command(sub, "evaluate", cmd_evaluate,
                "score one trained network on the test split (errors, encoding and key-decoding tables)")
    c.add_argument("model", type=Path, help="the network's folder (results/models/ARCH/hH/sNOISE/rRUN)")
    scoring_args(c, "default: RESULTS/evaluation/networks/ARCH/hH/sNOISE/rRUN, the network's cell (its meta.json)",
                 "seed")

    c = command(sub, "collect_evaluation", cmd_collect_evaluation, "join the per-network and per-reference tables "
                                                                  "into errors.parquet, encoding.parquet and keys.parquet")
    joining_args(c, "three tables", "sweep cells and references", "sweep:, references.models")

    for name, func, filename, text in (
            ("stats", cmd_stats, "stats.csv", "the comparisons of stats.csv from errors.parquet (and the "
                                                "prediction-error coding tests from encoding.parquet)"),
            ("orders", cmd_orders, "orders.csv", "each network cell's effective order on the ladder of ideal observers "
                                                 "(orders.csv from errors.parquet)")):
        c = command(sub, name, func, text)
        c.add_argument("--errors", type=Path, default=None, help="default: RESULTS/evaluation/errors.parquet")
        if name == "stats":  # its prediction-error coding tests
            c.add_argument("--encoding", type=Path, default=None, help="default: RESULTS/evaluation/encoding.parquet")
        c.add_argument("--out", type=Path, default=None, help=f"default: RESULTS/evaluation/{filename}")
        results_arg(c)

    c = command(sub, "convergence", cmd_convergence, "whether each trained stage of the sweep's networks and the "
                                                     "trained references converged (convergence.csv)")
    c.add_argument("--out", type=Path, default=None, help="default: RESULTS/evaluation/convergence.csv")
    results_arg(c)
    config_args(c, "sweep:, references.models")
