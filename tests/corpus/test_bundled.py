"""The bundled source and the bundled composers: which music21 scores become MIDI files, and their works."""

from pathlib import Path

import pytest

from bayesbach.corpus.bundled import UnknownComposer, _export_one, bundled_scores, composer_scores, work_of


def test_bundled_scores_are_bach_works_with_one_file_per_score_name():
    scores, aside = bundled_scores()
    assert len(scores) > 400
    assert all(p.name.startswith("bwv") and p.suffix != ".rntxt" for p in scores)
    stems = [p.stem for p in scores]
    assert len(stems) == len(set(stems))  # one exported .mid per name, never two scores on one file
    # Scores bundled in two encodings keep the MusicXML one; the other is listed with its reason.
    assert {name for name, _ in aside} >= {"bwv281.krn", "bwv366.krn"}
    assert all("also bundled as" in reason for _, reason in aside)
    assert Path("bwv281.mxl").name in {p.name for p in scores}


def test_max_works_keeps_the_first_compositions():
    scores, _ = bundled_scores(max_works=3)
    assert sorted({p.name.split(".")[0] for p in scores}) == ["bwv1", "bwv2", "bwv3"]


def test_a_score_key_is_music21s_analysis_as_a_key_name():
    import music21

    from bayesbach.corpus.bundled import score_key

    assert score_key(music21.converter.parse("tinyNotation: 4/4 c4 d e f g a b c' g e c1")) == "C major"
    assert score_key(music21.converter.parse("tinyNotation: 4/4 a4 c' e' a' d' f' e' g#' a'1")) == "A minor"
    assert score_key(music21.stream.Stream()) is None  # nothing to analyse: the key comes from the MIDI file


def test_another_composer_gives_one_score_per_name_below_its_folder_and_can_be_spread():
    scores, root, aside = composer_scores("beethoven")
    assert root.name == "beethoven" and all(p.suffix != ".rntxt" for p in scores)
    names = [p.relative_to(root).with_suffix("").as_posix() for p in scores]
    assert len(names) == len(set(names)) and "opus59no1/movement1" in names  # movements in their opus's folder
    assert ("opus18no1/movement1.krn", "the same score is also bundled as opus18no1/movement1.mxl, which is used") in aside
    few, _, few_aside = composer_scores("beethoven", max_files=3)
    assert few == [scores[0], scores[len(scores) // 3], scores[2 * len(scores) // 3]]  # spread over the catalogue
    assert all(a[0].startswith(tuple(p.relative_to(root).with_suffix("").as_posix() for p in few)) for a in few_aside)


def test_an_unknown_composer_is_named():
    with pytest.raises(UnknownComposer, match="music21 ships no score of 'nobody'"):
        composer_scores("nobody")


def test_a_composers_work_is_the_parent_work_of_its_score_else_its_folder_else_its_name(tmp_path):
    scores, root, _ = composer_scores("palestrina", max_files=1)
    done = _export_one((scores[0], "Agnus.mid", tmp_path))
    assert done.reason is None and (tmp_path / "Agnus.mid").read_bytes()[:4] == b"MThd"
    assert done.work == "Missa De Beata Marie Virginis (I)"  # the mass the movement belongs to (its !!!OPR record)
    assert work_of("opus59no1/movement2.mid") == "opus59no1" and work_of("madrigal.3.1.mid") == "madrigal.3.1"
