"""The BWV matcher: one table of how the archives present their files, and the number each must give."""

from __future__ import annotations

import pytest

from bayesbach.corpus.bwv import Clues, bwv_from_name, bwv_spans, match_bwv, piece_for_file, url_file_name

BASE = "http://archive.example/bach/"

# (clues, expected number, expected evidence); None = no recognisable number, the file is skipped.
CASES = [
    # --- file names, as the archives write them
    (Clues(BASE + "bwv1006a.mid"), 1006, "file name"),
    (Clues(BASE + "BWV1006A.MID"), 1006, "file name"),
    (Clues(BASE + "988-v01.mid"), 988, "file name"),
    (Clues(BASE + "988-v30.mid", link_text="Variatio 30"), 988, "file name"),
    (Clues(BASE + "Bach_BWV_565_Toccata.mid"), 565, "file name"),
    (Clues(BASE + "bach-bwv-0772.midi"), 772, "file name"),
    (Clues(BASE + "bwv.846.mid"), 846, "file name"),
    (Clues(BASE + "bwv248.12-2.mid"), 248, "file name"),
    (Clues(BASE + "004207b_.mid"), 42, "file name"),
    (Clues(BASE + "014003_.mid"), 140, "file name"),
    (Clues(BASE + "100601.mid"), 1006, "file name"),
    (Clues(BASE + "1006a_gigue.mid"), 1006, "file name"),
    (Clues(BASE + "0772.mid"), 772, "file name"),
    (Clues(BASE + "Bach%20BWV%20543%20Fugue.mid"), 543, "file name"),
    # a BWV in the name wins over the row and the page around it
    (Clues(BASE + "bwv847.mid", row_text="BWV 846-869", page_text="BWV 1007"), 847, "file name"),
    # --- query-string links: the file name is a query value
    (Clues("http://archive.example/download.php?file=bwv0772.mid"), 772, "file name"),
    (Clues("http://archive.example/get?id=12&file=midi%2Fbach%2F988-v02.mid"), 988, "file name"),
    (Clues("http://archive.example/download.php?file=prelude.mid", link_text="Prelude BWV 999"), 999, "link text"),
    # --- the link text
    (Clues(BASE + "toccata.mid", link_text="Toccata and Fugue in D minor, BWV 565"), 565, "link text"),
    (Clues(BASE + "t1.mid", link_text="bwv. 1001 Adagio"), 1001, "link text"),
    (Clues(BASE + "x.mid", link_text="Partita BWV 1004 (complete)", row_text="BWV 1001-1006"), 1004, "link text"),
    # --- a folder named after the work
    (Clues("http://archive.example/bach/bwv1007/prelude.mid"), 1007, "url path"),
    # --- the table row around the link
    (Clues(BASE + "prelude.mid", row_text="BWV 1007 Cello Suite No. 1 in G major"), 1007, "table row"),
    (Clues(BASE + "wtc1/prelude03.mid", row_text="Das wohltemperierte Klavier I, BWV 846-869"), 848, "table row"),
    (Clues(BASE + "wtc1/fugue24.mid", row_text="BWV 846\u2013869"), 869, "table row"),
    (Clues(BASE + "wtc1/prelude25.mid", row_text="BWV 846-869"), None, None),  # 25 is outside the range
    (Clues(BASE + "wtc1/b1-p3.mid", row_text="BWV 846-869"), None, None),  # two numbers: which is the index?
    (Clues(BASE + "wtc1/b1-p3.mid", row_text="BWV 846-869", position=(2, 24)), 848, "table row"),
    (Clues(BASE + "wtc1/b1-p3.mid", row_text="BWV 846-869", position=(2, 5)), None, None),  # 5 links, 24 numbers
    (Clues(BASE + "inv/a.mid", row_text="Inventions BWV 772-786", position=(0, 15)), 772, "table row"),
    (Clues(BASE + "suite-1009.mid", row_text="BWV 1007-1012"), 1009, "table row"),  # a number inside the range
    (Clues(BASE + "suite.mid", row_text="BWV 1007, BWV 1008"), None, None),  # two works, no way to tell
    (Clues(BASE + "s.mid", link_text="Suite 3", row_text="Cello suites BWV 1007-1012"), 1009, "table row"),
    # --- the page around the link
    (Clues(BASE + "gigue.mid", page_text="Bach: Partita No. 3 in E major, BWV 1006"), 1006, "page"),
    (Clues(BASE + "gigue.mid", page_text="Bach partitas BWV 1002, BWV 1004, BWV 1006"), None, None),
    (Clues(BASE + "aria.mid", row_text="Aria", page_text="Goldberg Variations BWV 988"), 988, "page"),
    # --- zip members: the member's own name, then the archive's, then the context
    (Clues(BASE + "suites.zip", member="cello/bwv1008-gigue.mid"), 1008, "file name"),
    (Clues(BASE + "bwv1007.zip", member="prelude.mid"), 1007, "archive name"),
    (Clues(BASE + "wtc1.zip", member="wtc1/prelude05.mid", row_text="BWV 846-869"), 850, "table row"),
    (Clues(BASE + "all.zip", member="readme-prelude.mid", link_text="Cello Suite BWV 1010"), 1010, "link text"),
    # --- redirects: the final address, else the link's
    (Clues(BASE + "files/bwv565.mid", other_urls=(BASE + "go/toccata",)), 565, "file name"),
    (Clues(BASE + "files/t.mid", other_urls=(BASE + "old/bwv-565.mid",)), 565, "file name"),
    # --- nothing recognisable: skipped, never guessed
    (Clues(BASE + "prelude.mid"), None, None),
    (Clues(BASE + "01.mid", link_text="Track 1"), None, None),  # short numbers are track numbers
    (Clues(BASE + "2024-concert.mid"), None, None),  # beyond the catalogue
    (Clues(BASE + "k331.mid", page_text="Mozart sonatas"), None, None),
    (Clues("http://archive.example/download.php?id=17"), None, None),
]


@pytest.mark.parametrize("clues,bwv,evidence", CASES, ids=[c[0].member or c[0].url.rsplit("/", 1)[-1] for c in CASES])
def test_match_bwv(clues, bwv, evidence):
    found = match_bwv(clues)
    if bwv is None:
        assert found is None
    else:
        assert (found.bwv, found.evidence) == (bwv, evidence)


@pytest.mark.parametrize(
    "url,name",
    [("http://a.example/x/bwv1.mid", "bwv1.mid"), ("http://a.example/download.php?file=bwv0772.mid", "bwv0772.mid"),
     ("http://a.example/d?f=dir%2Fsub%2Fa.MIDI&x=1", "a.MIDI"), ("http://a.example/d?f=a\\b\\c.zip", "c.zip"),
     ("http://a.example/bach/", ""), ("http://a.example/page.html?x=notes.txt", "page.html")],
)
def test_url_file_name(url, name):
    assert url_file_name(url) == name


def test_spans_read_ranges_single_numbers_and_dashes():
    assert bwv_spans("BWV 846-869, BWV 870 \u2013 893; bwv1006a; BWV 988-v01; BWV 846-869") == [
        (846, 869), (870, 893), (1006, 1006), (988, 988)]
    assert bwv_spans("no catalogue number here, only 846") == []


@pytest.mark.parametrize(
    "name,bwv",
    [("bwv1.6.mid", 1), ("bwv248.12-2.mid", 248), ("BWV_565_Toccata.mid", 565), ("bwv1006a.mid", 1006),
     ("bwv0772.mid", 772), ("riemenschneider001.rntxt", None), ("prelude.mid", None)],
)
def test_bwv_from_file_name(name, bwv):
    assert bwv_from_name(name) == bwv


@pytest.mark.parametrize("name,piece", [("004207b_.mid", "bwv0042"), ("web/host/bwv0846-prelude01.mid", "bwv0846"),
                                        ("988-v01.mid", "bwv0988"), ("prelude.mid", "prelude")])
def test_files_name_their_composition(name, piece):
    assert piece_for_file(name) == piece
    assert bwv_from_name(name) == (None if piece == "prelude" else int(piece[3:]))
