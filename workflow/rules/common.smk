# Configuration: validated (and completed with defaults) before any job is planned.
from snakemake.exceptions import WorkflowError

from bayesbach.config import ConfigError, check_config
from bayesbach.provenance import source_digest
from bayesbach.resources import train_job
from bayesbach.layout import FIGURES, KINDS, example_network

try:
    check_config(config, workflow.source_path("../schemas/config.schema.yaml"))
except ConfigError as e:
    raise WorkflowError(str(e)) from None


def code(*modules):
    """Parameter that changes when the library code a rule runs changes (see bayesbach.provenance)."""
    return source_digest(*modules)


def source_manifests():
    return expand("data/raw/{source}/manifest.parquet", source=config["corpus"]["sources"])


def all_targets():
    return [
        "results/dataset/events.parquet",
        "results/dataset/rejects.parquet",
        "results/dataset/pieces.parquet",
    ] + network_targets() + reference_targets() + evaluation_targets() + report_targets()


def noise_label(sigma):
    """The {noise} wildcard: Python's repr of the float (0.5, 1.0, 0.001)."""
    return repr(float(sigma))


def network_targets():
    """Every file of every cell of the sweep (results/models/{arch}/h{hidden}/s{noise}/r{run}/)."""
    sweep = config["sweep"]
    return expand(
        "results/models/{arch}/h{hidden}/s{noise}/r{run}/{file}",
        arch=sweep["arch"], hidden=sweep["hidden"], noise=[noise_label(s) for s in sweep["noise"]],
        run=range(sweep["runs"]), file=["decoder.pt", "probe.pt", "history.parquet", "meta.json"],
    )


def train_params():
    """The config values a training job's results depend on (a changed budget reruns training, not the
    dataset; checkpoint and log cadence change no result, so the script reads them from the config)."""
    keys = ("lr", "batch_size", "chunk_length", "decode_batches", "probe_batches", "val_every", "encoding", "layers")
    return {k: config["train"][k] for k in keys}


# The {noise} wildcard as repr(float) writes it: 0.5, 1.0, 0.001, 1e-05.
NOISE_PATTERN = r"\d+\.\d+(e-\d+)?|\d+(\.\d+)?e[-+]\d+"
COUNTED_REFERENCES = ("global", "markov_counts", "bayes")  # bayesbach.exact
NETWORK_REFERENCES = ("markov_low", "markov_high", "decoder_ff", "rnn_pred")  # bayesbach.references


def reference_targets():
    """errors.parquet and meta.json of every reference at every noise level of the sweep."""
    return expand(
        "results/references/s{noise}/{name}/{file}",
        noise=[noise_label(s) for s in config["sweep"]["noise"]],
        name=config["references"]["models"], file=["errors.parquet", "meta.json"],
    )


def reference_params(wildcards):
    """The references: keys one network reference uses (a changed rnn_hidden reruns rnn_pred only)."""
    refs = config["references"]
    keys = ("batches", "rnn_arch", "rnn_hidden") if wildcards.name == "rnn_pred" else ("batches", "ff_hidden")
    return {k: refs[k] for k in keys}


def reference_train_params():
    """The train: keys the network references share with the networks (not the networks' budgets;
    checkpoint and log cadence change no result, so the script reads them from the config)."""
    keys = ("lr", "batch_size", "chunk_length", "val_every", "encoding")
    return {k: config["train"][k] for k in keys}


def _job_size(arch, hidden, batches, attempt):
    train = config["train"]
    return train_job(
        arch, int(hidden), units=12 if train["encoding"] == "pc12" else 128, batch_size=train["batch_size"],
        chunk_length=train["chunk_length"], batches=batches, device="cpu" if config["device"] == "cpu" else "cuda",
        layers=train["layers"], threads=train["threads"], attempt=attempt,
    )


def network_job(wildcards, attempt):
    """runtime (minutes) and mem_mb of one network's training job; doubled on each retry."""
    train = config["train"]
    return _job_size(wildcards.arch, wildcards.hidden, train["decode_batches"] + train["probe_batches"], attempt)


def reference_job(wildcards, attempt):
    """The same for a network reference, sized as rnn_pred (the feed-forward ones cost less)."""
    refs = config["references"]
    return _job_size(refs["rnn_arch"], refs["rnn_hidden"], refs["batches"], attempt)


def evaluation_targets():
    """The evaluation stage's tables (workflow/rules/evaluation.smk)."""
    return ["results/evaluation/errors.parquet", "results/evaluation/encoding.parquet", "results/evaluation/stats.csv"]


def network_cells(pattern):
    """``pattern`` formatted for every network of the sweep (arch, hidden, noise, run)."""
    sweep = config["sweep"]
    return expand(pattern, arch=sweep["arch"], hidden=sweep["hidden"],
                  noise=[noise_label(s) for s in sweep["noise"]], run=range(sweep["runs"]))


def example_model_dirs():
    """{noise: model folder} of the example network (bayesbach.layout.example_network) at each noise level."""
    arch, hidden, run = example_network(config["sweep"])
    return {float(s): f"results/models/{arch}/h{hidden}/s{noise_label(s)}/r{run}" for s in config["sweep"]["noise"]}


def figure_names():
    """The figures this study draws; the architecture comparison only when it sweeps several."""
    return [n for n in FIGURES if n != "architectures" or len(config["sweep"]["arch"]) > 1]


def report_targets():
    return (["results/listen/example.parquet", "results/summary.html"]
            + expand("results/listen/s{noise}/{kind}.mid", noise=[noise_label(s) for s in config["sweep"]["noise"]],
                     kind=KINDS)
            + expand("results/figures/{name}.{ext}", name=figure_names(), ext=["png", "pdf"]))
