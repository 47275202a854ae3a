"""Performance measurements behind ``bayesbach bench ...``: each prints one JSON line."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from bayesbach.dev import synthetic

# The original implementation converted about 0.5 chorale files per second on a
# 2-core machine of this project's kind (docs/performance.md, "The original implementation").
ORIGINAL_CONVERT_FILES_PER_S = 0.5


def bench_convert(folder: Path, workers: int | None = None, repeats: int = 3) -> dict:
    """Time the converter over every MIDI file below ``folder``; medians of ``repeats`` runs.

    The reference step measured in the same run is parsing alone (mido and
    pretty_midi, in one process): ``parse_share`` is the part of the serial
    conversion time spent there, the floor no chord extraction can go below.
    """
    from bayesbach.dataset.midi import convert, midi_files, read_midi

    files = midi_files([folder])
    if not files:
        raise FileNotFoundError(f"no .mid or .midi files below {folder}")
    blobs = [p.read_bytes() for _, p in files]
    conv, serial, parse, events = [], [], [], 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        table, _ = convert(files, workers)
        t1 = time.perf_counter()
        convert(files, 1)
        t2 = time.perf_counter()
        for data in blobs:
            try:
                read_midi(data)
            except Exception:  # noqa: BLE001 - rejected files cost their parse time too
                pass
        t3 = time.perf_counter()
        conv.append(t1 - t0)
        serial.append(t2 - t1)
        parse.append(t3 - t2)
        events = table.num_rows
    seconds = statistics.median(conv)
    return {
        "bench": "convert",
        "files": len(files),
        "events": events,
        "seconds": round(seconds, 4),
        "files_per_s": round(len(files) / seconds, 1),
        "serial_files_per_s": round(len(files) / statistics.median(serial), 1),
        "parse_share": round(statistics.median(parse) / statistics.median(serial), 3),
        "speedup_vs_original": round(len(files) / seconds / ORIGINAL_CONVERT_FILES_PER_S, 1),
        "runs": repeats,
        "workers": workers,
    }


def bench_train(arch: str = "gru", hidden: int = 64, batch_size: int = 64, chunk_length: int = 256, batches: int = 20,
                device: str = "cpu", data: Path | None = None, repeats: int = 3, val_every: int = 100,
                threads: int | None = None, encoding: str = "pc12", sigma: float = 0.5, tf32: bool = False) -> dict:
    """Speed of the real training step (batch drawn from the resident split, noise on the device,
    Adam step) against the bare forward/backward/Adam step on one resident tensor, and the cost of
    one validation pass relative to ``val_every`` training batches. Medians over ``repeats``; within
    a repeat real and bare steps alternate, so their ratio is measured in one run under one load.
    ``tf32``: on a GPU, TF32 instead of the training jobs' IEEE float32 (no effect on a CPU).

    Without ``data`` (a dataset folder) a synthetic corpus of the original study's size is used:
    490 training and 70 validation compositions.
    """
    import torch

    from bayesbach.core.registry import ENCODINGS
    from bayesbach.dataset.loader import load_split
    from bayesbach.networks.scoring import Padded, piece_bce
    from bayesbach.networks.models import build, recurrent_spec
    from bayesbach.networks.batches import Sampler, batch_inputs
    from bayesbach.networks.training_job import start
    from bayesbach.networks.training import network_stages, optimise

    dev = start(device, threads, tf32)
    units = ENCODINGS[encoding]
    if data is None:
        train, validation = synthetic.random_corpus(490, units, seed=1), synthetic.random_corpus(70, units, seed=2)
    else:
        train, validation = (load_split(data, s, encoding) for s in ("train", "validation"))
    stage = network_stages(batches, 0)[0]  # decode: the stage that trains the whole core
    model = build(recurrent_spec(arch, units, hidden), seed=0).to(dev)
    optimiser = torch.optim.Adam([p for n, p in model.named_parameters() if not n.startswith("heads.predict")])
    g = torch.Generator(device=dev)
    g.manual_seed(0)
    sampler = Sampler(train, batch_size, chunk_length, 20, dev, g)
    val = Padded.build(validation, 0, dev)
    x0, t0, w0 = batch_inputs(sampler.next_chunk(), stage, sigma, g)

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    acc = torch.zeros((), device=dev)

    def real():
        x, target, weight = batch_inputs(sampler.next_chunk(), stage, sigma, g)
        acc.add_(optimise(model, optimiser, x, target, weight, stage.head).sum())  # one loss per packed network

    def bare():
        optimise(model, optimiser, x0, t0, w0, stage.head)

    def timed(fn, *args):
        sync()
        start = time.perf_counter()
        fn(*args)
        sync()
        return time.perf_counter() - start

    def run():
        # Real and bare steps alternate batch by batch, so a shared machine's load hits both alike.
        steps = [(timed(real), timed(bare)) for _ in range(batches)]
        return sum(r for r, _ in steps), sum(b for _, b in steps)

    real(), bare(), real(), bare(), piece_bce(model, val, stage.head, stage.target, sigma)  # warm-up
    runs = [run() for _ in range(repeats)]
    val_s = statistics.median(timed(piece_bce, model, val, stage.head, stage.target, sigma) for _ in range(repeats))
    # The real step's extra work alone (chunk indices, gather, noise): less noisy than the ratio on a busy machine.
    inputs_s = statistics.median(timed(lambda: batch_inputs(sampler.next_chunk(), stage, sigma, g)) for _ in range(5 * repeats))
    real_s = statistics.median(r for r, _ in runs) / batches
    bare_s = statistics.median(b for _, b in runs) / batches
    return {
        "bench": "train", "arch": arch, "hidden": hidden, "batch_size": batch_size, "chunk_length": chunk_length,
        "batches": batches, "device": str(dev), "threads": torch.get_num_threads(), "encoding": encoding,
        "tf32": bool(tf32 and dev.type == "cuda"),
        "batches_per_s": round(1 / real_s, 3),
        "model_batches_per_s": round(1 / bare_s, 3),
        "overhead": round(statistics.median(r / b for r, b in runs), 4),
        "inputs_ms": round(1000 * inputs_s, 3),
        "inputs_fraction": round(inputs_s / bare_s, 4),
        "validation_s": round(val_s, 4),
        "validation_pieces": len(val.names), "validation_steps": int(val.mask.sum()),
        "val_every": val_every,
        "val_fraction": round(val_s / (val_every * real_s), 4),
        "runs": repeats,
        "data": str(data) if data else "synthetic",
    }


def bench_pack(pack: int, arch: str = "gru", hidden: int = 8, batch_size: int = 64, chunk_length: int = 64,
               batches: int = 20, device: str = "cpu", repeats: int = 5, threads: int | None = None,
               encoding: str = "pc12", data: Path | None = None) -> dict:
    """Networks trained per second when ``pack`` of them train packed as one model, against one network
    alone: the real training step of each (chunks drawn, noise, Adam step; the packed one with its
    gradient masking), alternating batch by batch so that both see the same load. Medians of
    ``repeats`` runs of ``batches`` batches each.

    ``pack_speedup`` = ``network_batches_per_s`` (packed: ``pack`` x its batches per second) over
    ``solo_network_batches_per_s``. Without ``data`` the synthetic corpus of :func:`bench_train`.
    """
    import torch

    from bayesbach.core.registry import ENCODINGS
    from bayesbach.dataset.loader import load_split
    from bayesbach.networks.batches import Sampler, batch_inputs
    from bayesbach.networks.training_job import start
    from bayesbach.networks.models import build_pack, recurrent_spec
    from bayesbach.networks.training import network_stages, optimise

    dev = start(device, threads)
    units = ENCODINGS[encoding]
    train = synthetic.random_corpus(490, units, seed=1) if data is None else load_split(data, "train", encoding)
    stage = network_stages(batches, 0)[0]  # decode: the stage that trains the whole core
    spec = recurrent_spec(arch, units, hidden)

    def trainer(k: int):
        model = build_pack(spec, list(range(k))).to(dev)
        optimiser = torch.optim.Adam([p for n, p in model.named_parameters() if not n.startswith("heads.predict")])
        gens = [torch.Generator(device=dev).manual_seed(i) for i in range(k)]
        sampler = Sampler(train, batch_size, chunk_length, 20, dev, gens)
        sigmas = [0.5] * k

        def step():
            x, target, weight = batch_inputs(sampler.next_chunk(), stage, sigmas, gens)
            optimise(model, optimiser, x, target, weight, stage.head)
        return step

    packed, solo = trainer(pack), trainer(1)

    def timed(fn):
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        fn()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - t

    for _ in range(3):  # warm-up
        packed(), solo()
    runs = []
    for _ in range(repeats):
        steps = [(timed(packed), timed(solo)) for _ in range(batches)]
        runs.append((sum(p for p, _ in steps), sum(s for _, s in steps)))
    packed_s = statistics.median(p for p, _ in runs) / batches
    solo_s = statistics.median(s for _, s in runs) / batches
    return {
        "bench": "train", "pack": pack, "arch": arch, "hidden": hidden, "batch_size": batch_size,
        "chunk_length": chunk_length, "batches": batches, "device": str(dev), "threads": torch.get_num_threads(),
        "encoding": encoding,
        "network_batches_per_s": round(pack / packed_s, 3),
        "solo_network_batches_per_s": round(1 / solo_s, 3),
        "pack_speedup": round(statistics.median(pack * s / p for p, s in runs), 3),
        "packed_step_ms": round(1000 * packed_s, 3), "solo_step_ms": round(1000 * solo_s, 3),
        "runs": repeats, "data": str(data) if data else "synthetic",
    }


def bench_crawl(pages: int = 20, files_per_page: int = 20, repeats: int = 3) -> dict:
    """Crawl the generated archive site on 127.0.0.1 with delays off; medians of ``repeats`` fresh crawls.

    Each crawl runs in its own process (Twisted's reactor starts once per
    process); its time is measured inside, from the spider's start to its end.
    ``crawl_vs_plain_get`` compares it with fetching the same URLs by bare
    sequential GETs in this process (the crawler's own cost, as a ratio).
    """
    import json
    import subprocess
    import sys
    import tempfile
    import urllib.error
    import urllib.request

    from bayesbach.dev.fixture_site import build_site, serve

    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        site = build_site(Path(tmp) / "site", extra_pages=pages, files_per_page=files_per_page)
        with serve(site) as server:
            for r in range(repeats):
                proc = subprocess.run(
                    [sys.executable, "-m", "bayesbach.cli", "crawl", "--out", str(Path(tmp) / f"out{r}"),
                     "--start-url", f"{server.base_url}/bach/index.html", "--no-delay", "--json"],
                    capture_output=True, text=True, check=True)
                runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
                if r == 0:
                    paths = list(server.requests)
            # The reference step, same run: the same requests as bare sequential GETs (no parsing, no storing).
            plain = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                for path in paths:
                    try:
                        urllib.request.urlopen(server.base_url + path).read()
                    except urllib.error.HTTPError:
                        pass
                plain.append(time.perf_counter() - t0)
    seconds = statistics.median(r["seconds"] for r in runs)
    first = runs[0]
    return {
        "bench": "crawl",
        "pages": first["pages"],
        "files_kept": first["files_kept"],
        "requests": first["requests"],
        "seconds": round(seconds, 3),
        "pages_per_s": round(first["pages"] / seconds, 1),
        "files_per_s": round(first["files_kept"] / seconds, 1),
        "requests_per_s": round(first["requests"] / seconds, 1),
        "plain_get_seconds": round(statistics.median(plain), 3),
        "crawl_vs_plain_get": round(seconds / statistics.median(plain), 2),
        "runs": repeats,
        "politeness": "off (no delay, no AutoThrottle; robots.txt obeyed, one request at a time per site)",
    }


def bench_evaluate(pieces: int = 140, train_pieces: int = 490, arch: str = "gru", hidden: int = 256,
                   repeats: int = 3, threads: int | None = None) -> dict:
    """One network's evaluation job at paper scale on synthetic compositions: the per-piece test BCE
    (decode and predict, one padded batch each) and the prediction-error encoding (hidden states of
    the training and test splits, least squares). Medians of ``repeats`` runs; a trained network
    costs the same as this untrained one."""
    import torch

    from bayesbach.dataset.loader import n_steps
    from bayesbach.evaluation.prediction_errors import error_coding_rows
    from bayesbach.networks.scoring import score_pieces
    from bayesbach.networks.models import build, recurrent_spec

    if threads:
        torch.set_num_threads(threads)
    test, train = synthetic.random_corpus(pieces, seed=1), synthetic.random_corpus(train_pieces, seed=2)
    model = build(recurrent_spec(arch, 12, hidden), seed=0)
    errors, encoding = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        score_pieces(model, test, 1.0, 0, ("decode", "predict"))
        t1 = time.perf_counter()
        error_coding_rows(model, train, test, 1.0, 0)
        t2 = time.perf_counter()
        errors.append(t1 - t0)
        encoding.append(t2 - t1)
    steps, train_steps = n_steps(test), n_steps(train)
    return {"bench": "evaluate", "arch": arch, "hidden": hidden, "test_pieces": pieces, "test_steps": steps,
            "train_steps": train_steps, "errors_seconds": round(statistics.median(errors), 3),
            "encoding_seconds": round(statistics.median(encoding), 3),
            "test_steps_per_s": round(2 * steps / statistics.median(errors)), "runs": repeats,
            "threads": torch.get_num_threads()}


def bench_annotate(stimuli: int = 100, chords: int = 200, train_pieces: int = 300, train_steps: int = 250,
                   noise: float = 0.0, repeats: int = 3, threads: int | None = None) -> dict:
    """``bayesbach annotate`` on ``stimuli`` synthetic MIDI files of ``chords`` chords each, with every model of
    the default study (its sweep and references, untrained: a trained one costs the same) over a synthetic training
    split of ``train_pieces`` compositions of ``train_steps`` chords from one sparse chord chain (an alphabet as
    large as Bach's, counted again for every call as annotate does). Medians of ``repeats`` calls."""
    import tempfile

    import yaml

    from bayesbach.cli.common import CHECKOUT
    from bayesbach.core.registry import REFERENCES
    from bayesbach.evaluation.annotate import annotate

    config = yaml.safe_load((CHECKOUT / "config.yaml").read_text())
    sweep = config["sweep"]
    refs = config["references"]
    names = [n for n in config["references"].get("models") or REFERENCES]
    corpus = synthetic.chain_corpus({"train": train_pieces, "test": stimuli}, seed=0)
    splits = {"train": {p: [f[0][:train_steps]] for p, f in corpus["train"].items()}}
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        synthetic.write_study(tmp / "results", splits, sweep, names,
                              {"ff_hidden": refs["ff_hidden"], "rnn_arch": refs["rnn_arch"],
                               "rnn_hidden": refs["rnn_hidden"]})
        for k, (piece, files) in enumerate(corpus["test"].items()):  # voiced above middle C, a quarter second each
            y = files[0][:chords]
            notes = [(60 + int(p), 0.25 * t, 0.25 * t + 0.25) for t in range(len(y)) for p in y[t].nonzero()[0]]
            synthetic.write_midi(tmp / "stimuli" / f"{piece}.mid", notes)
        for _ in range(repeats):
            runs.append(annotate([tmp / "stimuli"], tmp / "out", results=tmp / "results", noise=noise,
                                 threads=threads))
    seconds = statistics.median(r["seconds"] for r in runs)
    first = runs[0]
    return {"bench": "annotate", "stimuli": first["stimuli"], "events": first["events"], "models": first["models"],
            "seconds": round(seconds, 3), "events_per_s": round(first["events"] / seconds),
            "load_seconds": round(statistics.median(r["load_seconds"] for r in runs), 3), "noise": noise,
            "runs": repeats}
