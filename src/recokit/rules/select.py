"""The select stage under list limits and pins: pins take their slots first, then the best
allowed candidates are taken greedily, skipping any item that would break a list limit, then
back-fill (the fallback model's ranking, then the best sellers) under the same rules."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from recokit.core import Restriction, ScoreBlock, Selection, Source, top_k
from recokit.core.select import rank
from recokit.rules.compiled import Compiled, Limit
from recokit.rules.rule import Rule

__all__ = ["RowPicker", "select_under_limits"]


@dataclass
class RowPicker:
    """Greedy selection for one row: list limits counted as items are taken.

    ``audit`` records every item a limit skips (:attr:`blocked`, read by ``why_not``) by walking
    the candidates one by one; otherwise the walk skips in bulk the items whose group is full
    (re-checked, vectorised, each time a group fills), so a list the limits keep short costs a
    few array passes, not one Python step per catalogue item.
    """

    limits: list[Limit]
    k: int
    audit: bool = False
    #: equal scores in this order (each item's rank among the best sellers; None: item index)
    tie: np.ndarray | None = None
    counts: list[np.ndarray] = field(default_factory=list)
    picked: list[int] = field(default_factory=list)
    source: list[int] = field(default_factory=list)
    blocked: dict[int, tuple[Rule, str]] = field(default_factory=dict)
    seen: set[int] = field(default_factory=set)
    #: no allowed item is left that could still be taken (every one seen or in a full group):
    #: back-fill would only walk its sources to the end for nothing
    exhausted: bool = False

    def __post_init__(self) -> None:
        self.counts = [np.zeros(len(lim.names), dtype=np.int64) for lim in self.limits]

    def take(self, i: int) -> bool:
        """Take item ``i`` unless a list limit forbids it (recorded in :attr:`blocked`)."""
        groups = [int(lim.codes[i]) for lim in self.limits]
        for lim, count, g in zip(self.limits, self.counts, groups, strict=True):
            if g >= 0 and count[g] >= lim.cap:
                self.blocked.setdefault(i, (lim.rule, lim.names[g]))
                return False
        for count, g in zip(self.counts, groups, strict=True):
            if g >= 0:
                count[g] += 1
        return True

    def takeable(self, items: np.ndarray, *, limits: bool = True, seen: bool = True) -> np.ndarray:
        """Which of ``items`` are not seen yet (with ``seen``) and have room in all their groups
        (with ``limits``)."""
        keep = np.ones(len(items), dtype=bool)
        if seen and self.seen:
            # a lookup table over the item numbers: one pass, not a sort of the whole catalogue
            keep &= ~np.isin(items, np.fromiter(self.seen, dtype=np.int64, count=len(self.seen)), kind="table")
        if limits:
            for lim, count in zip(self.limits, self.counts, strict=True):
                g = lim.codes[items]
                keep &= (g < 0) | (count[np.maximum(g, 0)] < lim.cap)
        return keep

    def fill_from_row(self, row: np.ndarray, mask: np.ndarray, need: int, source: int) -> None:
        """Take from one row's whole ranking (``row`` scores, ``mask`` allowed): ranks only the
        items that can still be taken, a few times what is missing at a time, so a list the
        limits keep short never sorts the catalogue."""
        while len(self.picked) < need:
            want = 4 * (need - len(self.picked))
            open_ = self._open(mask)
            if not open_.any():
                self.exhausted = True
                return
            got = top_k(row[None, :], open_[None, :], want, self.tie)[0]
            got = got[got >= 0]
            if not len(got):
                return
            self.fill(got.tolist(), need, source)
            if len(got) < want:  # every open item was offered
                return

    def fill_from_entries(self, cols: np.ndarray, vals: np.ndarray, mask: np.ndarray, need: int, source: int) -> None:
        """Take from one row's stored scores (``cols``, ``vals``; ``mask`` allowed), in ranking
        order: a sparse row is sorted whole (its opinions only), never scanned as a catalogue.
        Marks the row :attr:`exhausted` when it is still short and nothing is left to take."""
        ok = np.isfinite(vals) & mask[cols]
        cols, vals = cols[ok], vals[ok]
        order = np.lexsort((cols if self.tie is None else self.tie[cols], -vals))
        self.fill(cols[order].tolist(), need, source)
        if len(self.picked) < need and not self._open(mask).any():
            self.exhausted = True

    def _open(self, mask: np.ndarray) -> np.ndarray:
        """The catalogue's items that may still be taken: allowed by ``mask``, not seen, with room
        in their groups (the audit walks full groups too, to record them)."""
        return mask & self.takeable(np.arange(len(mask)), limits=not self.audit)

    def fill(self, candidates: Iterable[int], need: int, source: int) -> None:
        """Take candidates in order until ``need`` items are picked (beyond pins)."""
        if self.audit or not self.limits:
            self._walk(candidates, need, source)
            return
        cand = np.fromiter(candidates, dtype=np.int64)
        cand = cand[self.takeable(cand)]
        while len(self.picked) < need and len(cand):
            # the walk of as many as are missing, then the rest re-checked against the limits in
            # bulk: a group that filled stays full, so what the check removes the walk would skip
            step = max(8, need - len(self.picked))
            self._walk(cand[:step].tolist(), need, source)
            cand = cand[step:]
            if len(cand) and len(self.picked) < need:
                cand = cand[self.takeable(cand, seen=False)]

    def _walk(self, candidates: Iterable[int], need: int, source: int) -> None:
        for i in candidates:
            if len(self.picked) >= need:
                return
            if i in self.seen:
                continue
            self.seen.add(i)
            if self.take(i):
                self.picked.append(i)
                self.source.append(source)


def _allowed_by(mask: np.ndarray) -> Callable[[int], bool]:
    """Whether item ``i`` is allowed, read from one row's allowed mask."""
    return lambda i: bool(mask[i])


def _pins(picker: RowPicker, compiled: Compiled, allowed: Callable[[int], bool]) -> dict[int, tuple[int, Rule]]:
    """Pins take their positions in rule order (a pin asking for a taken slot gets the next free
    one; a pin whose slot falls beyond k is not shown, unless k is the whole catalogue: then it
    closes a short list). Returns position -> (item, rule)."""
    taken: dict[int, tuple[int, Rule]] = {}
    for slots in compiled.pins:
        p = slots.position
        for i in slots.items.tolist():
            if not allowed(i) or i in picker.seen:
                continue
            while p in taken:
                p += 1
            if p > picker.k and picker.k < compiled.n_items:  # k capped at the catalogue: a list
                break  # that holds every item keeps a pin asking beyond it (placed at the end)
            picker.seen.add(i)
            if picker.take(i):
                taken[p] = (i, slots.rule)
                p += 1
    return taken


def _assemble(picker: RowPicker, taken: dict[int, tuple[int, Rule]], k: int) -> tuple[list[int], list[int]]:
    """The ranked items fill the free slots in order; pins beyond a short list's end close it."""
    items: list[int] = []
    source: list[int] = []
    rest = iter(zip(picker.picked, picker.source, strict=True))
    for pos in range(1, len(picker.picked) + len(taken) + 1):
        if pos in taken:
            items.append(taken[pos][0])
            source.append(Source.PINNED)
        else:
            nxt = next(rest, None)
            if nxt is None:
                break
            items.append(nxt[0])
            source.append(nxt[1])
    placed = set(items)
    for p in sorted(taken):
        if taken[p][0] not in placed:
            items.append(taken[p][0])
            source.append(Source.PINNED)
    return items[:k], source[:k]


@dataclass(frozen=True, eq=False)
class Backfill:
    """Where a short list is filled from: ``fallback(rows)`` scores those rows of the batch with the
    fallback model (None: no fallback model), then the best-seller order."""

    fallback: Callable[[np.ndarray], ScoreBlock] | None
    popular_order: np.ndarray


def select_under_limits(
    compiled: Compiled,
    block: ScoreBlock,
    restriction: Restriction,
    k: int,
    backfill: Backfill | None,
    *,
    record: list[dict[int, tuple[Rule, str]]] | None = None,
    tie: np.ndarray | None = None,
) -> Selection:
    """Pins, then the best allowed candidates under the list limits, then back-fill, per row.

    The candidates of every row are ranked at once (a few times ``k`` of them); only a row that
    runs out of candidates before its list is full is ranked again in full. The fallback model
    scores only the rows still short after the model's candidates. Equal scores are taken in
    the order of ``tie`` (see :func:`recokit.core.select.rank`).
    """
    n = block.shape[0]
    width = max(4 * k, 16)
    cand, _ = rank(block, restriction, width, tie)
    csr = block.to_csr() if block.is_sparse else None
    pickers: list[tuple[RowPicker, dict[int, tuple[int, Rule]], int]] = []
    for r in range(n):
        mask = restriction.row_mask(r)
        picker = RowPicker(compiled.limits, k, audit=record is not None, tie=tie)
        taken = _pins(picker, compiled, _allowed_by(mask))
        need = k - len(taken)
        row_cand = cand[r][cand[r] >= 0]
        picker.fill(row_cand.tolist(), need, Source.MODEL)
        if len(picker.picked) < need and len(row_cand) == width:  # ran out of candidates: the rest of the row
            if csr is not None:  # only the row's opinions can be taken from it
                lo, hi = csr.indptr[r], csr.indptr[r + 1]
                picker.fill_from_entries(csr.indices[lo:hi].astype(np.int64), csr.data[lo:hi], mask, need, Source.MODEL)
            else:
                picker.fill_from_row(block.row(r), mask, need, Source.MODEL)
        pickers.append((picker, taken, need))
    short = np.array([r for r, (p, _, need) in enumerate(pickers) if len(p.picked) < need and not p.exhausted], dtype=np.int64)
    fb_block = None
    if backfill is not None and len(short):
        fb_block = backfill.fallback(short) if backfill.fallback is not None else None
        _fill_short(pickers, short, fb_block, restriction, backfill.popular_order, width, tie)
    picked = np.full((n, k), -1, dtype=np.int64)
    source = np.full((n, k), -1, dtype=np.int8)
    for r, (picker, taken, _) in enumerate(pickers):
        items, src = _assemble(picker, taken, k)
        picked[r, : len(items)] = items
        source[r, : len(src)] = src
        if record is not None:
            record.append(picker.blocked)
    scores = np.where(picked >= 0, block.at(np.repeat(np.arange(n), k), np.maximum(picked, 0).ravel()).reshape(n, k), np.nan)
    scores[(source == Source.FALLBACK) | (source == Source.POPULAR)] = np.nan
    return Selection(picked, scores, source, fb_block, short if fb_block is not None else None)


def _fill_short(
    pickers: list[tuple[RowPicker, dict[int, tuple[int, Rule]], int]],
    short: np.ndarray,
    fb_block: ScoreBlock | None,
    restriction: Restriction,
    popular_order: np.ndarray,
    width: int,
    tie: np.ndarray | None = None,
) -> None:
    """Back-fill the short rows: the fallback's ranking (block rows = ``short``), then best sellers."""
    fb_cand = rank(fb_block, restriction.take(short), width, tie)[0] if fb_block is not None else None
    for j, r in enumerate(short.tolist()):
        picker, _, need = pickers[r]
        mask = restriction.row_mask(r)
        if fb_cand is not None and fb_block is not None:
            row_fb = fb_cand[j][fb_cand[j] >= 0]
            picker.fill(row_fb.tolist(), need, Source.FALLBACK)
            if len(row_fb) == width:
                picker.fill_from_row(fb_block.row(j), mask, need, Source.FALLBACK)
        if not picker.exhausted:
            picker.fill(popular_order[mask[popular_order]].tolist(), need, Source.POPULAR)
