"""The folder source (bayesbach.corpus.folder): any folder of MIDI files as a corpus or as another composer, with
each file's composition from its BWV number, the folder's works.csv or its stem, and clear errors for bad folders."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from bayesbach.core import schemas
from bayesbach.corpus.files import evenly, midi_paths
from bayesbach.core.layout import composer_folders
from bayesbach.corpus.folder import (FolderError, check_folder_config, check_folders, export_folder, folder_digest, labels,
                                     read_works)
from bayesbach.dataset.midi import convert_sources
from bayesbach.dev.synthetic import write_midi

C, E, G = 60, 64, 67


def tune(path: Path, pitches=(C, E, G)) -> Path:
    return write_midi(path, [(p, i * 0.5, i * 0.5 + 0.5) for i, p in enumerate(pitches)])


@pytest.fixture
def folder(tmp_path) -> Path:
    """A collection: a BWV-named file, two movements of one work (works.csv), a file named by its stem alone,
    one in a subfolder, a broken file, and things that are no MIDI."""
    root = tmp_path / "collection"
    tune(root / "Bach BWV 565 Toccata.mid")
    tune(root / "sonata-1.mid", (C, G))
    tune(root / "sonata-2.MIDI", (E, G))
    tune(root / "etude.mid", (G, E, C))
    tune(root / "sub" / "nocturne.mid", (C, C + 12))
    (root / "broken.mid").write_bytes(b"MThd\x00")
    (root / "notes.txt").write_text("not music")
    (root / "works.csv").write_text("file,work\nsonata-1.mid,Sonata in C\nsonata-2.MIDI,Sonata in C\n"
                                    "Bach BWV 565 Toccata.mid,ignored: the BWV number wins\n")
    return root


def manifest(out: Path) -> dict[str, dict]:
    table = pq.read_table(out / "manifest.parquet")
    assert table.schema == schemas.MANIFEST
    return {row["file"]: row for row in table.to_pylist()}


def test_a_file_is_its_bwv_number_else_its_work_in_works_csv_else_its_stem(folder, tmp_path):
    out = tmp_path / "data/raw/folder"
    assert export_folder([folder], out) == 6  # every .mid/.midi file; the broken one is the conversion's to reject
    rows = manifest(out)
    assert {f: r["piece"] for f, r in rows.items()} == {
        "collection/Bach BWV 565 Toccata.mid": "bwv0565", "collection/sonata-1.mid": "Sonata in C",
        "collection/sonata-2.MIDI": "Sonata in C", "collection/etude.mid": "etude",
        "collection/sub/nocturne.mid": "nocturne", "collection/broken.mid": "broken"}
    assert rows["collection/Bach BWV 565 Toccata.mid"]["bwv"] == 565 and rows["collection/etude.mid"]["bwv"] is None
    assert {r["source"] for r in rows.values()} == {"folder"}
    for name, row in rows.items():  # copies: the study keeps what it read
        assert (out / name).read_bytes() == (folder / name.removeprefix("collection/")).read_bytes()
        assert row["bytes"] == (out / name).stat().st_size


def test_another_composer_has_no_bwv_numbers_and_can_be_capped(folder, tmp_path):
    out = tmp_path / "data/raw/composers/mine"
    assert export_folder([folder], out, bwv_numbers=False) == 6
    assert manifest(out)["collection/Bach BWV 565 Toccata.mid"]["piece"] == "ignored: the BWV number wins"
    assert all(r["bwv"] is None for r in manifest(out).values())
    capped = tmp_path / "capped"
    assert export_folder([folder], capped, max_files=3) == 3
    names = [p.relative_to(folder).as_posix() for p in midi_paths(folder)]
    assert sorted(manifest(capped)) == sorted(f"collection/{n}" for n in evenly(names, 3))


def test_the_conversion_takes_the_composition_from_the_manifest_and_rejects_with_reasons(folder, tmp_path):
    out = tmp_path / "data/raw/folder"
    tune(folder / "sonata-1x.mid", (C, G))  # a copy of a file: the same bytes
    write_midi(folder / "sonata-2z.mid", [(p, i, i + 1) for i, p in enumerate((E, G))], tempo=90)  # a twin, slower
    (folder / "works.csv").write_text("file,work\nsonata-1.mid,Sonata in C\nsonata-2.MIDI,Sonata in C\n"
                                      "sonata-2z.mid,Sonata in C\n")
    export_folder([folder], out)
    convert_sources([out], tmp_path / "dataset", workers=1)
    events = pq.read_table(tmp_path / "dataset/events.parquet").to_pandas()
    files = events.groupby("file")["piece"].first().to_dict()
    assert files["folder/collection/sonata-1.mid"] == files["folder/collection/sonata-2.MIDI"] == "Sonata in C"
    assert files["folder/collection/Bach BWV 565 Toccata.mid"] == "bwv0565"
    rejects = {r["file"]: r["reason"] for r in pq.read_table(tmp_path / "dataset/rejects.parquet").to_pylist()}
    assert rejects == {
        "folder/collection/sonata-1x.mid": "exact duplicate of folder/collection/sonata-1.mid",
        "folder/collection/sonata-2z.mid": "same chord events as folder/collection/sonata-2.MIDI (one recording, "
                                           "another format)",
        "folder/collection/broken.mid": "truncated MIDI file: the data ends inside a chunk"}


def test_a_second_export_keeps_the_copies_and_the_digest_follows_the_contents(folder, tmp_path):
    out = tmp_path / "out"
    export_folder([folder], out)
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.mid")}
    digest = folder_digest([folder])
    export_folder([folder], out)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.mid")} == before
    assert folder_digest([folder]) == digest
    tune(folder / "etude.mid", (C, E))  # a changed file
    assert folder_digest([folder]) != digest
    (folder / "works.csv").write_text("file,work\n")  # a changed works.csv
    assert len({digest, folder_digest([folder])}) == 2


def test_folders_of_the_same_name_are_copied_apart(tmp_path):
    a, b = tune(tmp_path / "a/midi/x.mid").parent, tune(tmp_path / "b/midi/x.mid", (E, G)).parent
    assert labels([a, b]) == ["midi", "midi-2"]
    export_folder([a, b], tmp_path / "out")
    assert sorted(manifest(tmp_path / "out")) == ["midi-2/x.mid", "midi/x.mid"]


@pytest.mark.parametrize("setup,message", [
    (lambda root: None, "the folder {root} does not exist"),
    (lambda root: root.write_text("a file"), "{root} is not a folder"),
    (lambda root: (root / "sub").mkdir(parents=True), "the folder {root} holds no MIDI file"),
])
def test_a_folder_that_cannot_be_a_corpus_is_named(tmp_path, setup, message):
    root = tmp_path / "midi"
    setup(root)
    with pytest.raises(FolderError, match="^what: " + message.format(root=root)):
        check_folders([root], "what")
    with pytest.raises(FolderError, match="no folder given"):
        check_folders([], "what")


@pytest.mark.parametrize("text,message", [
    ("name,composition\na.mid,x\n", "must name the columns file and work"),
    ("file,work\na.mid,\n", "line 2: a row needs both a file and a work"),
    ("file,work\nb.mid,x\n", "line 2: 'b.mid' is no .mid or .midi file below"),
    ("file,work\na.mid,x\n\na.mid,y\n", "line 4: 'a.mid' is listed under two works"),
])
def test_a_malformed_works_csv_is_named_with_its_line(tmp_path, text, message):
    tune(tmp_path / "a.mid")
    (tmp_path / "works.csv").write_text(text)
    with pytest.raises(FolderError, match=message):
        check_folders([tmp_path], "what")


def test_works_csv_may_carry_a_byte_order_mark_and_windows_separators(tmp_path):
    tune(tmp_path / "sub" / "a.mid")
    (tmp_path / "works.csv").write_bytes("\ufefffile,work\r\nsub\\a.mid, Op. 1 \r\n".encode())
    assert read_works(tmp_path, ["sub/a.mid"]) == {"sub/a.mid": "Op. 1"}


def test_the_config_check_names_the_key_of_a_bad_folder(tmp_path):
    def config(sources, paths=(), composers=()):
        return {"corpus": {"sources": sources, "folder": {"paths": list(paths)}},
                "generalisation": {"composers": list(composers)}}

    check_folder_config(config(["bundled"]))  # no folder source, no composer folder: nothing to check
    with pytest.raises(FolderError, match=r"^invalid config: corpus\.folder\.paths: no folder given"):
        check_folder_config(config(["bundled", "folder"]))
    composers = ["palestrina", {"name": "mine", "paths": [str(tmp_path / "none")]}]
    with pytest.raises(FolderError, match=r"^invalid config: generalisation\.composers: mine: paths: the folder"):
        check_folder_config(config(["bundled"], composers=composers))
    assert composer_folders(config(["bundled"], composers=composers)) == {"palestrina": None,
                                                                         "mine": [str(tmp_path / "none")]}
    tune(tmp_path / "bach" / "sub" / "a.mid")
    with pytest.raises(FolderError, match=r"mine: paths: .*sub holds files of the corpus the networks train on"):
        check_folder_config(config(["folder"], [tmp_path / "bach"], [{"name": "mine", "paths": [tmp_path / "bach/sub"]}]))


def test_evenly_spreads_a_cap_over_the_list():
    assert evenly(list(range(10)), 3) == [0, 3, 6]
    assert evenly(list(range(4)), None) == evenly(list(range(4)), 9) == [0, 1, 2, 3]
