"""Progress of a training run: a line in the job's log at a steady cadence, and an optional progress bar.

A line says the stage, the batch, the running training loss, the last validation
loss, the rate over the last interval (so a slow first batch does not skew it) and
the time left; for a pack of networks, the losses are their means.
"""

from __future__ import annotations

import logging
import math
import statistics
import time

log = logging.getLogger("bayesbach.networks.training")  # the lines belong to the training run


def clock(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    return f"{m // 60}h{m % 60:02d}m{s:02d}s" if m >= 60 else f"{m}m{s:02d}s"


def _last(run) -> dict | None:
    """The last validation point, its losses averaged over the networks of a pack."""
    rows = [h[-1] for h in run.history if h]
    if not rows:
        return None
    return {**rows[0], **{k: statistics.fmean(r[k] for r in rows) for k in ("train_loss", "val_loss")}}


class Progress:
    def __init__(self, total: int, done_before: int, every_s: float, bar: bool = False):
        self.total, self.done_before, self.every_s = total, done_before, every_s
        self.done = 0  # batches done in this process
        self.last_time, self.last_done = time.perf_counter(), 0
        self.bar = None
        if bar:
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=done_before, unit="batch", dynamic_ncols=True)

    def start_stage(self) -> None:
        self.last_time, self.last_done = time.perf_counter(), self.done

    def batch_done(self, stage, batch: int, run) -> None:
        """After each batch: the bar moves; a log line when the cadence is due or the stage ends."""
        self.done += 1
        if self.bar is not None:
            self.bar.update()
            row = _last(run)
            row = row if row and row["batch"] == batch else None
            if row is not None and row["stage"] == stage.name:
                self.bar.set_postfix(stage=stage.name, train=f"{row['train_loss']:.4f}", val=f"{row['val_loss']:.4f}")
        now = time.perf_counter()
        if now - self.last_time < self.every_s and batch != stage.batches:
            return
        rate = (self.done - self.last_done) / max(now - self.last_time, 1e-9)
        last = _last(run)
        last = last if last and last["stage"] == stage.name else {}
        running = statistics.fmean(run.running_loss()) if run.loss_batches else last.get("train_loss", math.nan)
        log.info("%s batch %d/%d | train %.4f | val %.4f | %.1f batches/s | %s left", stage.name, batch, stage.batches,
                 running, last.get("val_loss", math.nan), rate, clock((self.total - self.done_before - self.done) / rate))
        self.last_time, self.last_done = now, self.done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
