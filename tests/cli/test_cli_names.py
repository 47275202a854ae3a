"""Commands named as the workflow's rules (bayesbach.cli.common.RENAMED): every rule's job has a command, and the old
names still work for a release, with a one-line note."""

from __future__ import annotations

import re

import pyarrow.parquet as pq
import pytest

from bayesbach.cli import main, parser
from bayesbach.cli.common import RENAMED
from bayesbach.dev.synthetic import write_midi_folder
from conftest import REPO

# The rules whose job a command runs under another name: an option picks the composer's twin, one command both
# kinds of reference; the rules made in loops (train_*, evaluate_*, figure_*) are train, evaluate and figures.
UNDER_ANOTHER_NAME = {"convert_composer": "convert --composer", "split_composer": "split --composer",
                      "reference_counted": "reference", "reference_counted_sigma_free": "reference",
                      "reference_network": "reference", "reference_network_sigma_free": "reference", "all": None}
MINIMAL = {"export_composer": ["mine"], "composer": ["mine"]}  # the required arguments, for parsing


def commands() -> set[str]:
    return set(parser()._subparsers._group_actions[0].choices)  # with their aliases


def test_every_rule_is_a_command_of_its_name():
    rules = {"all"} | {m for f in (REPO / "workflow/rules").glob("*.smk")
                       for m in re.findall(r"^(?:rule|use rule \w+ as) (\w+)", f.read_text(), re.M)}
    assert rules - commands() == set(UNDER_ANOTHER_NAME)
    assert {"train", "evaluate", "figures", "reference", "estimate", "bench"} <= commands()


@pytest.mark.parametrize("old,new", [(o, n) for o, n in RENAMED.items() if " " not in n])
def test_an_old_name_is_the_renamed_command(old, new):
    assert parser().parse_args([old, *MINIMAL.get(old, [])]).func is parser().parse_args([new, *MINIMAL.get(new, [])]).func


def test_the_help_lists_the_renames(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert all(f"{old} -> {new}" in text for old, new in RENAMED.items())


def test_an_old_name_still_runs_and_says_what_it_is_now(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    folder = write_midi_folder(tmp_path / "mine", ["bwv1.1.mid", "bwv2.1.mid"], seed=0)
    assert main(["folder", str(folder)]) == 0
    assert len(pq.read_table(tmp_path / "data/raw/folder/manifest.parquet")) == 2  # import_folder's output
    assert capsys.readouterr().err.splitlines()[0] == ("bayesbach: 'folder' is now 'import_folder'; the old name goes in "
                                                       "the next release")
    assert main(["import_folder", str(folder)]) == 0
    assert "is now" not in capsys.readouterr().err
