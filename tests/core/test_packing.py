"""Which networks train together (bayesbach.core.packing)."""

import pytest

from bayesbach.core.packing import PACK_WIDTH, Pack, pack_size, packs

SWEEP = {"arch": ["gru", "lstm"], "hidden": [8, 16, 64], "noise": [0.2, 1.0, 2.0], "runs": 2}


def test_auto_fills_the_device_s_packed_width_and_an_integer_is_taken_as_it_is():
    assert [pack_size("auto", h, "cpu") for h in (8, 16, 32, 64, 128)] == [8, 4, 2, 1, 1]
    assert [pack_size("auto", h, "cuda") for h in (8, 32, 256, 512)] == [32, 8, 1, 1]
    assert PACK_WIDTH["cpu"] < PACK_WIDTH["cuda"]
    assert pack_size(3, 256, "cpu") == 3
    for bad in (0, -1, "many", 2.5):
        with pytest.raises(ValueError, match="train.pack"):
            pack_size(bad, 8, "cpu")


def test_packs_cover_every_cell_once_run_by_run_within_one_architecture_and_size():
    out = packs(SWEEP, 4, "cpu")
    cells = {(p.arch, p.hidden, c) for p in out for c in p.cells}
    assert len(cells) == sum(len(p.cells) for p in out) == 2 * 3 * 3 * 2
    gru8 = [p for p in out if (p.arch, p.hidden) == ("gru", 8)]
    assert gru8 == [Pack("gru", 8, 0, ((0.2, 0), (1.0, 0), (2.0, 0), (0.2, 1))), Pack("gru", 8, 1, ((1.0, 1), (2.0, 1)))]
    assert [p.name for p in gru8] == ["gru_h8_p0", "gru_h8_p1"]
    assert all(len(p.cells) == 1 for p in packs(SWEEP, 1, "cpu"))
    # auto on a CPU: 8 units -> up to 8 per pack (all 6 cells), 16 -> 4, 64 -> 1
    assert [len(p.cells) for p in packs(SWEEP, "auto", "cpu") if p.arch == "gru"] == [6, 4, 2, 1, 1, 1, 1, 1, 1]


def test_adding_runs_leaves_every_full_pack_as_it_was():
    before = packs(SWEEP, 4, "cpu")
    after = packs({**SWEEP, "runs": 5}, 4, "cpu")
    full = [p for p in before if len(p.cells) == 4]
    assert full and all(p in after for p in full)
