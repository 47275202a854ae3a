"""IDyOM-style PPM: variable-order models of a symbol sequence, blended, with exclusion, and their combination.

The field's standard model of musical expectation (IDyOM; Pearce 2005, mtpearce/idyom; the R package
pmcharrison/ppm follows it), here over integer symbols. The study's four models built on it (``ppm_ltm``,
``ppm_stm``, ``ppm_both``, ``ppm_both_plus``, a symbol per chord), their alphabet and scores are
:mod:`bayesbach.references.ppm_reference`.

One model (:class:`PPM`) is a trie of the contexts seen, each node the context of its path (the most recent event
first) with the counts of the symbols that followed it (and, with update exclusion, the update-excluded counts).
A node seen once holds a pointer to its one occurrence instead of its deeper nodes, which are made when the
context recurs (as the leaves of Bunton's suffix tree that IDyOM builds), so an unbounded order costs memory in
proportion to the contexts that recur, not to the square of the file lengths.

Prediction (IDyOM's ``ppm-star.lisp``, ``probability-distribution``). The top context: with an unbounded order
(PPM*, Cleary & Teahan 1997) the shortest deterministic context (one symbol has followed it) on the path of the
current history, else the longest that has occurred; with an order bound k, the longest of at most k events. From
it down to the empty context the estimates are blended ("mixtures"): a context s with transition counts c(x)
(c(x) + k_e, escape B's k_e = -1, D's -1/2) gives weight w(s) = T / (T + E) to its own estimate c(x) / T and
1 - w(s) to the lower orders, where T sums the counts of the symbols not already predicted by the context above
(exclusion) and E is escape A's 1, B's and C's number of distinct symbols, D's half of it, X's number of
singletons plus one. Below the empty context the order -1 model is uniform, 1 / (|A| + 1 - symbols seen). IDyOM's
blending with exclusion adds c(x) / T for every symbol of s, the excluded too, and normalises at the end; so
does this module (the PPM literature's worked examples, e.g. abracadabra, in tests/references/test_ppm.py).
Update exclusion: an event increments the update-excluded counts only from its longest context down to the first
in which it had occurred before; the top context of a selected (shorter than the longest) deterministic context
reads its full counts, lower ones the update-excluded counts.

The combination (IDyOM's ``geometric-combination``, ``*ltm-stm-bias*``): p(x) is proportional to
prod_m p_m(x)^(w_m / sum w), w_m = (H_m / H_max)^(-b), H_m the entropy of model m's distribution in bits, H_max =
log2 |A|, b the bias (IDyOM's default 7): the more certain model weighs more.
"""

from __future__ import annotations

import numpy as np

ESCAPES = ("a", "b", "c", "d", "x")
# The count offset k and divisor d of the escape methods (IDyOM's make-ppm).
_K = {"a": 0.0, "b": -1.0, "c": 0.0, "d": -0.5, "x": 0.0}
_D = {"a": 1.0, "b": 1.0, "c": 1.0, "d": 2.0, "x": 1.0}


class Node:
    """One context: the symbols that followed it (``counts``; ``upex``: update-excluded), its longer contexts
    (``children``, by the symbol one step further back) or, while it has occurred once, that occurrence
    (``origin``: the sequence and the position of the event that followed it)."""

    __slots__ = ("depth", "children", "counts", "upex", "origin", "cache")

    def __init__(self, depth: int, counts: dict, upex: dict | None, origin=None):
        self.depth = depth
        self.children: dict = {}
        self.counts = counts
        self.upex = upex
        self.origin = origin
        self.cache = None

    def arrays(self, update_excluded: bool) -> tuple[np.ndarray, np.ndarray]:
        """(symbols, counts) as arrays (full or update-excluded counts), cached until the node learns."""
        if self.cache is None:
            syms = np.fromiter(self.counts.keys(), np.int64, len(self.counts))
            full = np.fromiter(self.counts.values(), np.float64, len(self.counts))
            up = (np.fromiter((self.upex[s] for s in self.counts), np.float64, len(self.counts))
                  if self.upex is not None else None)
            self.cache = (syms, full, up)
        syms, full, up = self.cache
        return syms, (up if update_excluded else full)


class PPM:
    """A PPM model over symbols 0, 1, ... (IDyOM's options: order bound, escape method, update exclusion; blending
    with exclusion always). ``learn(seq, i)`` adds event ``i`` of ``seq`` (a list of symbols) given the events
    before it; ``distribution(seq, i, size)`` predicts it from them over an alphabet of ``size`` symbols. With a
    ``journal`` list, ``learn`` records what it changed, which :meth:`undo` takes back (the LTM+)."""

    def __init__(self, order_bound: int | None = None, escape: str = "c", update_exclusion: bool = False):
        if escape not in ESCAPES:
            raise ValueError(f"unknown escape method {escape!r}; expected one of {ESCAPES}")
        if order_bound is not None and order_bound < 0:
            raise ValueError(f"order bound {order_bound} < 0")
        self.bound = order_bound
        self.escape = escape
        self.update_exclusion = bool(update_exclusion)
        self.root = Node(0, {}, {} if self.update_exclusion else None)
        self.nodes = 1

    # ---- learning ------------------------------------------------------------------------------

    def _deeper_allowed(self, depth: int) -> bool:
        return self.bound is None or depth < self.bound

    def _expand(self, node: Node, journal: list | None) -> None:
        """Make the one child a once-seen node stands for (the context one step further back) a node of its own."""
        seq, i = node.origin
        node.origin = None
        if journal is not None:
            journal.append((3, node, (seq, i)))
        j = i - node.depth - 1
        if j >= 0 and self._deeper_allowed(node.depth):
            x = seq[i]
            node.children[seq[j]] = Node(node.depth + 1, {x: 1}, {x: 1} if self.update_exclusion else None, (seq, i))
            self.nodes += 1
            if journal is not None:
                journal.append((2, node, seq[j]))

    def learn(self, seq: list, i: int, journal: list | None = None) -> None:
        """Count event ``i`` of ``seq`` in every context of the events before it (up to the order bound)."""
        x = seq[i]
        node, path = self.root, [self.root]
        while node.depth < i and self._deeper_allowed(node.depth):
            if node.origin is not None:
                self._expand(node, journal)
            sym = seq[i - node.depth - 1]
            child = node.children.get(sym)
            if child is None:  # a new context: it and every longer one have occurred once, at (seq, i)
                node.children[sym] = Node(node.depth + 1, {x: 1}, {x: 1} if self.update_exclusion else None, (seq, i))
                self.nodes += 1
                if journal is not None:
                    journal.append((2, node, sym))
                break
            node = child
            path.append(node)
        if node.origin is not None:
            self._expand(node, journal)
        # update exclusion: from the longest context down to the first in which x had occurred (nested: all above)
        first = sum(1 for n in path if x in n.counts) - 1
        for k, n in enumerate(path):
            n.counts[x] = n.counts.get(x, 0) + 1
            n.cache = None
            if journal is not None:
                journal.append((0, n, x))
            if self.update_exclusion and k >= first:
                n.upex[x] = n.upex.get(x, 0) + 1
                if journal is not None:
                    journal.append((1, n, x))

    def learn_sequence(self, seq: list) -> None:
        for i in range(len(seq)):
            self.learn(seq, i)

    def undo(self, journal: list) -> None:
        """Take back what ``learn`` recorded in ``journal``, latest first."""
        for op, node, value in reversed(journal):
            if op == 0 or op == 1:
                counts = node.counts if op == 0 else node.upex
                counts[value] -= 1
                if not counts[value]:
                    del counts[value]
                node.cache = None
            elif op == 2:
                self.nodes -= _subtree(node.children.pop(value))
            else:
                node.origin = value
        journal.clear()

    # ---- prediction ----------------------------------------------------------------------------

    def _has_longer(self, node: Node, seq: list, i: int) -> bool:
        """Whether the context one step longer than ``node`` on the history of event ``i`` has occurred."""
        if node.depth >= i or not self._deeper_allowed(node.depth):
            return False
        sym = seq[i - node.depth - 1]
        if node.origin is not None:
            other, k = node.origin
            j = k - node.depth - 1
            return j >= 0 and other[j] == sym
        return sym in node.children

    def contexts(self, seq: list, i: int) -> tuple[list[Node], bool]:
        """The contexts of event ``i`` from the empty one to the top one, and whether the top one is a deterministic
        context selected below a longer one (PPM*)."""
        node, path = self.root, [self.root]
        star = self.bound is None
        while True:
            if star and len(node.counts) == 1:  # the shortest deterministic context
                return path, self._has_longer(node, seq, i)
            if node.depth >= i or not self._deeper_allowed(node.depth):
                return path, False
            if node.origin is not None:  # an order bound reads past a once-seen context (the same model)
                self._expand(node, None)
            child = node.children.get(seq[i - node.depth - 1])
            if child is None:
                return path, False
            node = child
            path.append(node)

    def distribution(self, seq: list, i: int, size: int) -> np.ndarray:
        """P(event i = x | the events before it) for every symbol x < ``size`` (blending with exclusion)."""
        path, selected = self.contexts(seq, i)
        p = np.zeros(size)
        excluded = np.zeros(size, bool)
        escape, k, d = 1.0, _K[self.escape], _D[self.escape]
        top = len(path) - 1
        for level in range(top, -1, -1):
            node = path[level]
            if not node.counts:
                continue
            syms, counts = node.arrays(self.update_exclusion and not (level == top and selected))
            c = counts + k if k else counts
            total = float(c[~excluded[syms]].sum())
            if self.escape == "a":
                escapes = 1.0
            elif self.escape == "x":
                escapes = float(np.count_nonzero(counts == 1) + 1)
            else:
                escapes = len(syms) / d
            weight = total / (total + escapes) if total + escapes > 0 else 0.0
            if total > 0:
                p[syms] += (escape * weight / total) * c
            escape *= 1.0 - weight
            excluded[syms] = True
        p += escape / (size + 1 - len(self.root.counts))
        return p / p.sum()


def _subtree(node: Node) -> int:
    """How many nodes ``node`` and its longer contexts are."""
    return 1 + sum(_subtree(child) for child in node.children.values())


def entropy_bits(p: np.ndarray) -> np.ndarray:
    """Entropy in bits of each row of ``p`` (0 log 0 = 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, -p * np.log2(p), 0.0)
    return terms.sum(axis=-1)


def combine(dists: list[np.ndarray], bias: float) -> np.ndarray:
    """IDyOM's entropy-weighted geometric combination of distributions over the same alphabet, row by row."""
    dists = [np.asarray(p, np.float64) for p in dists]
    size = dists[0].shape[-1]
    h_max = np.log2(size) if size > 1 else 0.0
    rel = [entropy_bits(p) / h_max if h_max > 0 else np.ones(p.shape[:-1]) for p in dists]
    # a certain distribution (entropy 0) would weigh infinitely: its weight is that of the least entropy above 0
    weights = [np.maximum(r, 1e-300) ** (-float(bias)) if bias else np.ones_like(r) for r in rel]
    weights = np.stack(weights)
    weights = weights / weights.sum(axis=0)  # w_m / sum w, finite even where one weight overflows
    weights = np.nan_to_num(weights, nan=1.0 / len(dists))
    with np.errstate(divide="ignore"):
        logp = sum(w[..., None] * np.log(p) for w, p in zip(weights, dists))
    logp -= logp.max(axis=-1, keepdims=True)
    out = np.exp(logp)
    return out / out.sum(axis=-1, keepdims=True)
