"""The BWV matcher: one table of how the archives present their files, and the number each must give."""

from __future__ import annotations

import pytest

from bayesbach.corpus.bwv import Clues, bwv_from_name, bwv_spans, match_bwv, name_range, piece_for_file, url_file_name

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
    (Clues(BASE + "bwv847.mid", row_text="BWV 846-869", heading="BWV 1007"), 847, "file name"),
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
    # --- the nearest heading (or table caption) before the link, the page's title where there is none
    (Clues(BASE + "gigue.mid", heading="Bach: Partita No. 3 in E major, BWV 1006"), 1006, "heading"),
    (Clues(BASE + "gigue.mid", heading="Bach partitas BWV 1002, BWV 1004, BWV 1006"), None, None),
    (Clues(BASE + "aria.mid", row_text="Aria", heading="Goldberg Variations BWV 988"), 988, "heading"),
    (Clues(BASE + "bourree.mid", row_text="5. Bourr\u00e9e", heading="Suite No. 3 in C major, BWV 1009"), 1009, "heading"),
    (Clues(BASE + "sankey/italian1.mid", link_text="First movement", heading="Italian Concerto, BWV 971"), 971, "heading"),
    # --- the archives' work abbreviations (docs/crawling.md): jsbach.net's cello suites, violin and flute works
    (Clues(BASE + "cs1-1pre.mid"), 1007, "file name"),
    (Clues(BASE + "cs3-5bou.mid"), 1009, "file name"),
    (Clues(BASE + "cs6-6gig.mid", heading="Suite No. 1 in G major, BWV 1007"), 1012, "file name"),  # the name first
    (Clues(BASE + "CS4-3COU.MID"), 1010, "file name"),
    (Clues(BASE + "cs7-1pre.mid"), None, None),  # there are six suites
    (Clues(BASE + "vs1-1ada.mid"), 1001, "file name"),
    (Clues(BASE + "vs2-2fug.mid"), 1003, "file name"),
    (Clues(BASE + "vs3-3lar.mid"), 1005, "file name"),
    (Clues(BASE + "vp1-1all.mid"), 1002, "file name"),
    (Clues(BASE + "vp2-5cha.mid"), 1004, "file name"),
    (Clues(BASE + "vp3-1pre.mid"), 1006, "file name"),
    (Clues(BASE + "vp4-1all.mid"), None, None),  # three partitas
    (Clues(BASE + "fp-2cou.mid"), 1013, "file name"),
    (Clues(BASE + "physics1.mid"), None, None),  # "cs1" inside a word is no abbreviation
    # ... the inventions and sinfonias
    (Clues(BASE + "inv01.mid"), 772, "file name"),
    (Clues(BASE + "inv15.mid"), 786, "file name"),
    (Clues(BASE + "inv16.mid"), None, None),
    (Clues(BASE + "invention_04.mid"), 775, "file name"),
    (Clues(BASE + "bach-inv3.mid"), 774, "file name"),
    (Clues(BASE + "sinf01.mid"), 787, "file name"),
    (Clues(BASE + "sinfonia-07.mid"), 793, "file name"),
    (Clues(BASE + "sin15.mid"), 801, "file name"),
    # ... the Well-Tempered Clavier, by book and number
    (Clues(BASE + "wtc1-01.mid"), 846, "file name"),
    (Clues(BASE + "wtc1-24.mid"), 869, "file name"),
    (Clues(BASE + "wtc1p05.mid"), 850, "file name"),
    (Clues(BASE + "wtc1_f05.mid"), 850, "file name"),
    (Clues(BASE + "wtc2-01.mid"), 870, "file name"),
    (Clues(BASE + "WTC2_24.mid"), 893, "file name"),
    (Clues(BASE + "wtc1-25.mid"), None, None),
    (Clues(BASE + "wtc3-01.mid"), None, None),
    # --- piano-midi.de: the composer and the number, a format-0 twin beside it, no "BWV" on the page
    (Clues("http://piano-midi.de/midis/bach/bach_846.mid", row_text="Prelude and Fugue in C major"), 846, "file name"),
    (Clues("http://piano-midi.de/midis/bach/bach_846_format0.mid", link_text="Format 0"), 846, "file name"),
    (Clues("http://piano-midi.de/midis/bach/bach_1.mid"), None, None),  # short numbers are track numbers
    # --- zip members: the member's own name, then the archive's, then the context
    (Clues(BASE + "suites.zip", member="cello/bwv1008-gigue.mid"), 1008, "file name"),
    (Clues(BASE + "bwv1007.zip", member="prelude.mid"), 1007, "archive name"),
    (Clues(BASE + "wtc1.zip", member="wtc1/prelude05.mid", row_text="BWV 846-869"), 850, "table row"),
    (Clues(BASE + "all.zip", member="readme-prelude.mid", link_text="Cello Suite BWV 1010"), 1010, "link text"),
    (Clues(BASE + "misc1.zip", member="bwv963.mid"), 963, "file name"),
    # ... an archive named for a range of works only bounds its members' numbers, never gives one
    (Clues(BASE + "sankey/772-786.zip", member="inv01.mid"), 772, "file name"),
    (Clues(BASE + "sankey/772-786.zip", member="inv15.mid"), 786, "file name"),
    (Clues(BASE + "sankey/846-869.zip", member="bwv846.mid"), 846, "file name"),
    (Clues(BASE + "sankey/846-869.zip", member="wtc1-03.mid"), 848, "file name"),
    (Clues(BASE + "sankey/bwv0846-0869.zip", member="bwv847.mid"), 847, "file name"),
    (Clues(BASE + "sankey/846-869.zip", member="inv01.mid"), None, None),  # 772 is outside: no answer, and never 846
    (Clues(BASE + "sankey/772-786.zip", member="sinf01.mid"), None, None),  # 787 is outside
    (Clues(BASE + "sankey/846-869.zip", member="track.mid"), None, None),  # no number of its own
    (Clues(BASE + "sankey/846-869.zip", member="01.mid"), None, None),
    (Clues(BASE + "sankey/772-786.zip", member="x.mid", link_text="Invention 4, BWV 775"), 775, "link text"),
    (Clues(BASE + "sankey/772-786.zip", member="x.mid", link_text="zip", heading="Suite BWV 1007"), None, None),
    (Clues(BASE + "sankey/846-869.zip", member="prelude03.mid", row_text="WTC I, BWV 846-869"), 848, "table row"),
    # --- redirects: the final address, else the link's
    (Clues(BASE + "files/bwv565.mid", other_urls=(BASE + "go/toccata",)), 565, "file name"),
    (Clues(BASE + "files/t.mid", other_urls=(BASE + "old/bwv-565.mid",)), 565, "file name"),
    # --- nothing recognisable: skipped, never guessed
    (Clues(BASE + "prelude.mid"), None, None),
    (Clues(BASE + "01.mid", link_text="Track 1"), None, None),  # short numbers are track numbers
    (Clues(BASE + "2024-concert.mid"), None, None),  # beyond the catalogue
    (Clues(BASE + "k331.mid", heading="Mozart sonatas"), None, None),
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
                                        ("988-v01.mid", "bwv0988"), ("prelude.mid", "prelude"),
                                        ("web/jsbach.net/cs2-3cou.mid", "bwv1008"), ("bach_846_format0.mid", "bwv0846"),
                                        ("web/127.0.0.1/bwv0772-772-786-inv01.mid", "bwv0772"), ("846-869.mid", "846-869")])
def test_files_name_their_composition(name, piece):
    assert piece_for_file(name) == piece
    assert bwv_from_name(name) == (int(piece[3:]) if piece.startswith("bwv") else None)


@pytest.mark.parametrize("name,span", [("846-869.zip", (846, 869)), ("bwv772-786.zip", (772, 786)),
                                       ("BWV_0846_-_0869.zip", (846, 869)), ("bwv988.zip", None), ("988-v01.mid", None),
                                       ("bwv1007-1.mid", None), ("869-846.zip", None), ("misc1.zip", None)])
def test_names_of_ranges(name, span):
    assert name_range(name) == span
