"""The bundled source: which music21 scores become MIDI files."""

from pathlib import Path

from bayesbach.corpus.bundled import bundled_scores


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
