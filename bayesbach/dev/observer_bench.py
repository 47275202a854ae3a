"""The observers' benchmarks behind ``bayesbach bench bayes`` (a test pass, or ``--job`` a whole counted job):
each prints one JSON line (docs/performance.md, "Ideal observers")."""

from __future__ import annotations

import statistics
import time

from bayesbach.dev import synthetic


def bench_bayes(pieces: int = 140, sigma: float = 1.0, units: int = 12, repeats: int = 3, single: int = 6,
                order: int = 1, prune: float | None = None, kernel: str | None = None, threads: int | None = None,
                compare: bool = False) -> dict:
    """The ideal observer of ``order`` over a paper-scale synthetic test split (``pieces`` compositions,
    with 3.5x as many for training, as in a 70/10/20 split); median of ``repeats`` passes.

    The model is counted on the training split with its smoothing chosen on clean validation
    prediction (``markov_countsK``'s search, cheap; the observer's own search at sigma costs some
    25 validation passes and is not part of a test pass). ``prune``: None decides as a counted job
    does (exact dense beliefs up to ``counted.EXACT_STATES`` states, else sparse with the budget
    ``counted.PRUNE``), 0 forces the exact filter, > 0 sets the budget. ``units`` = 128 is the ``pitch``
    encoding (unseen chords grouped by pitch-class set), other widths like ``pc12``. The reference measured in the
    same run is the same filter run file by file on the ``single`` longest pieces: ``batched_speedup``
    is the gain of batching over files (0: not measured). ``kernel``: the dense and pruned steps' (``observer.KERNELS``;
    None: the default), on ``threads`` threads (numba's; None: as set). ``compare``: also the NumPy/SciPy
    reference path in the same run, pass for pass (``reference_seconds``, ``speedup`` over it, and the largest
    difference between the two's outputs).
    """
    import os

    import numpy as np

    from bayesbach.dataset.loader import files_of, n_steps
    from bayesbach.dataset.noise import crn_inputs
    from bayesbach.references.alphabet import count_alphabet
    from bayesbach.references.contexts import count_contexts
    from bayesbach.core.registry import ENCODINGS
    from bayesbach.references.counted import CLASSES, EXACT_STATES, PRUNE
    from bayesbach.references.observer import Observer
    from bayesbach.references.smoothing import select_clean

    data = synthetic.chain_corpus({"train": round(pieces * 3.5), "validation": max(1, pieces // 2), "test": pieces}, units)
    t0 = time.perf_counter()
    alphabet = count_alphabet(data["train"], CLASSES["pitch"] if units == ENCODINGS["pitch"] else CLASSES["pc12"])
    model = count_contexts(data["train"], alphabet, order)
    smoothing, _ = select_clean(model, files_of(data["validation"]))
    automaton = model.automaton(smoothing)
    fit_seconds = time.perf_counter() - t0
    prune = (0.0 if model.n_states <= EXACT_STATES else PRUNE) if prune is None else float(prune)
    x = crn_inputs(data["test"], sigma, 0)
    _threads(threads)
    observer = Observer(alphabet, automaton, sigma, prune, kernel)
    reference = Observer(alphabet, automaton, sigma, prune, "numpy") if compare else None
    steps = n_steps(x)
    times, single_times, reference_times, difference = [], [], [], 0.0
    longest = sorted(files_of(x), key=lambda f: -len(f))[:single]
    observer.filter([files_of(x)[0][:2]])  # compiled (or loaded) before the clock
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = list(observer.run(x, targets=data["test"]))
        times.append(time.perf_counter() - t0)
        if reference is not None:
            t0 = time.perf_counter()
            ref = list(reference.run(x, targets=data["test"]))
            reference_times.append(time.perf_counter() - t0)
            difference = max(difference, max(float(np.abs(a - b).max(initial=0.0)) for r, q in zip(out, ref)
                                             for fa, fb in zip(r[1:], q[1:]) for a, b in zip(fa, fb)))
        t0 = time.perf_counter()
        for f in longest:
            observer.filter([f])
        single_times.append(time.perf_counter() - t0)
    seconds = statistics.median(times)
    single_rate = sum(len(f) for f in longest) / statistics.median(single_times) if longest else 0.0
    return {
        "bench": "bayes",
        "order": order,
        "units": units,
        "seen_chords": alphabet.n_seen,
        "states": int(model.n_states),
        "transitions_nonzero": int(automaton.A.nnz),
        "smoothing": {k: float(f"{v:.4g}") for k, v in smoothing.items()},
        "train_steps": n_steps(data["train"]),
        "test_pieces": pieces,
        "test_steps": steps,
        "longest_piece": max(len(f) for f in files_of(x)),
        "sigma": sigma,
        "exact": prune == 0,
        "prune_budget_per_step": prune,
        "discarded_max_per_step": observer.discarded.max_step,
        "dense_from_step": observer.discarded.dense_from_step,
        "mean_states_kept": round(observer.discarded.as_meta()["mean_states_kept"], 1) if prune else int(model.n_states),
        "fit_and_select_seconds": round(fit_seconds, 3),
        "seconds": round(seconds, 3),
        "steps_per_s": round(steps / seconds),
        "batched_speedup": round(steps / seconds / single_rate, 1) if single_rate else 0,
        "kernel": observer.kernel,
        "threads": _kernel_threads(),
        **({"reference_seconds": round(statistics.median(reference_times), 3),
            "speedup": round(statistics.median(reference_times) / seconds, 2),
            "max_difference": difference} if compare else {}),
        "runs": repeats,
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "load_average": os.getloadavg()[0],
    }


def _threads(threads: int | None) -> None:
    """The observer kernel's threads (numba's) and NumPy's, for a bench run."""
    if threads is None:
        return
    from bayesbach.references import kernel

    if kernel.AVAILABLE:
        kernel.numba.set_num_threads(threads)


def _kernel_threads() -> int:
    from bayesbach.references import kernel

    return kernel.threads()


def bench_bayes_job(pieces: int = 140, sigma: float = 1.0, units: int = 12, order: int = 3, kernel: str | None = None,
                    threads: int | None = None) -> dict:
    """A whole ``bayesK`` job on the paper-scale synthetic corpus of :func:`bench_bayes` (``pieces`` test
    compositions, 3.5x for training, half for validation): counting, the clean and the noisy smoothing searches
    (``select_observer``: one validation pass per point) and the scored test pass with the bits, as
    ``counted_reference`` runs them (less loading and writing). The dense step by ``kernel`` on ``threads``."""
    import os

    import numpy as np

    from bayesbach.core.registry import ENCODINGS
    from bayesbach.dataset.loader import n_steps
    from bayesbach.references.counted import CLASSES, Fitting, fit

    data = synthetic.chain_corpus({"train": round(pieces * 3.5), "validation": max(1, pieces // 2), "test": pieces}, units)
    _threads(threads)
    classes = CLASSES["pitch"] if units == ENCODINGS["pitch"] else CLASSES["pc12"]
    t0 = time.perf_counter()
    fitted = fit(f"bayes{order}" if order > 1 else "bayes", data["train"], data["validation"],
                 Fitting(sigma, 0, classes, kernel=kernel))
    fit_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    bce, bits = fitted.evaluate(data["test"], sigma, 0)
    test_seconds = time.perf_counter() - t0
    meta = fitted.meta
    search = meta["observer_smoothing"]
    return {
        "bench": "bayes_job",
        "order": order,
        "units": units,
        "sigma": sigma,
        "states": meta["states"],
        "exact": meta["exact"],
        "pruning": meta.get("pruning"),
        "train_steps": n_steps(data["train"]),
        "validation_steps": n_steps(data["validation"]),
        "test_steps": n_steps(data["test"]),
        "evaluations": search.get("evaluations"),
        "count_and_search_seconds": round(fit_seconds, 1),
        "search_seconds": meta["select_seconds"],
        "seconds_per_evaluation": round(meta["select_seconds"] / max(search.get("evaluations") or 1, 1), 2),
        "test_seconds": round(test_seconds, 1),
        "job_minutes": round((fit_seconds + test_seconds) / 60, 2),
        "kernel": meta["kernel"],
        "threads": _kernel_threads(),
        "mean_test_bits": {task: float(np.mean(list(v.values()))) for task, v in bits.items()},
        "load_average": os.getloadavg()[0],
    }
