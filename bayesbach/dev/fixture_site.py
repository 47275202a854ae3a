"""An archive-like Bach MIDI site, generated on disk and served on 127.0.0.1, for tests and benchmarks.

Under ``/bach/`` it imitates what the real archives do: nested listing pages, a
table whose rows name BWV ranges, query-string download links, zip archives (one
with a ``../`` member, one that unpacks far beyond its size), a redirect to a
MIDI file, a robots.txt that forbids a folder, links to other domains, an HTML
page served as ``.mid``, a broken MIDI file, the same MIDI under two names, a
file that fails with 503 once, a file over the size limit the tests set, and
pages beyond the crawl depth. ``extra_pages`` adds plain listing pages of
distinct files (for the benchmark).

Beside it, replicas of two real archives' layouts (docs/crawling.md), each a start
URL of its own (:data:`ARCHIVES`): ``/jsb/midi/`` after jsbach.net (a folder of
listing pages; the cello suites under one heading each, ``cs1-1pre.mid``; the
violin works, ``vp2-5cha.mid``; John Sankey's range-named zips ``772-786.zip``
with ``inv01.mid`` members; a table caption naming the work), ``/pmd/bach.htm``
after piano-midi.de (``bach_846.mid`` and its format-0 twin, no "BWV" on the
page), and three start URLs that fail: a page answering 418, a page robots.txt
forbids, and a host that does not resolve.

Every request is recorded in ``server.requests``; requests for a path in
``server.hold`` wait until ``server.gate`` is set (a test can interrupt a crawl
at a known point).
"""

from __future__ import annotations

import io
import random
import threading
import zipfile
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import mido
import pretty_midi

from bayesbach.core.seeds import derive_seed

HTML_AS_MIDI = b"<!DOCTYPE html><html><head><title>404 Not Found</title></head><body>File not found</body></html>"


def midi_bytes(seed: int, steps: int = 8) -> bytes:
    """A small, valid MIDI file whose chords depend on ``seed`` (distinct seeds, distinct bytes)."""
    rng = random.Random(derive_seed(seed, "crawl fixture"))  # the site is the same on every build
    pm = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    inst = pretty_midi.Instrument(program=0)
    for i in range(steps):
        root = rng.randrange(48, 72)
        for k, interval in enumerate((0, 4, 7)[: rng.randrange(1, 4)]):
            inst.notes.append(pretty_midi.Note(velocity=80, pitch=root + interval + 12 * k, start=i * 0.5, end=i * 0.5 + 0.5))
    pm.instruments.append(inst)
    buffer = io.BytesIO()
    pm.write(buffer)
    return buffer.getvalue()


def format0(data: bytes) -> bytes:
    """The same MIDI file in format 0 (one track): other bytes, the same notes."""
    midi = mido.MidiFile(file=io.BytesIO(data))
    single = mido.MidiFile(type=0, ticks_per_beat=midi.ticks_per_beat)
    single.tracks.append(mido.merge_tracks(midi.tracks))
    buffer = io.BytesIO()
    single.save(file=buffer)
    return buffer.getvalue()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buffer.getvalue()


def _page(title: str, body: str) -> str:
    return f"<!DOCTYPE html><html><head><title>{title}</title></head><body><h1>{title}</h1>\n{body}\n</body></html>\n"


# The start URLs of the site: the generic archive, then the replicas (paths on the server, or whole URLs).
START = "/bach/index.html"
ARCHIVES = {
    "jsbach.net": "/jsb/midi/",
    "piano-midi.de": "/pmd/bach.htm",
    "418": "/teapot/bach.htm",  # answers "418 I'm a teapot", as piano-midi.de does to some networks
    "robots.txt": "/private/bach.html",
    "unresolvable": "http://no-such-archive.invalid/midi/",
}
CELLO_KEYS = ("G major", "D minor", "C major", "E-flat major", "C minor", "D major")
# (heading, its BWV number, file, movement) of the violin page
VIOLIN = (("Sonata No. 1 in G minor", 1001, "vs1-1ada.mid", "Adagio"),
          ("Partita No. 1 in B minor", 1002, "vp1-1all.mid", "Allemanda"),
          ("Sonata No. 2 in A minor", 1003, "vs2-2fug.mid", "Fuga"),
          ("Partita No. 2 in D minor", 1004, "vp2-5cha.mid", "Ciaccona"),
          ("Sonata No. 3 in C major", 1005, "vs3-3lar.mid", "Largo"),
          ("Partita No. 3 in E major", 1006, "vp3-1pre.mid", "Preludio"))
PIANO_MIDI = ((846, "C major"), (847, "C minor"), (850, "D major"))


def start_urls(base_url: str) -> list[str]:
    """Every start URL of the site served at ``base_url``: the generic archive, the replicas, the dead ones."""
    return [u if "://" in u else base_url + u for u in (START, *ARCHIVES.values())]


def _replicas(files: dict[str, bytes], midi) -> None:
    """The layouts of jsbach.net and piano-midi.de, and the start pages that fail (module docstring)."""
    files["jsb/index.html"] = _page("Dave's J.S. Bach Page", '<a href="midi/">MIDI</a> <a href="bcs/index.html">BCS</a>')
    files["jsb/bcs/index.html"] = _page("Bach Central Station", '<a href="../midi/">MIDI files</a>')
    files["jsb/midi/index.html"] = _page("MIDI Files", """
<ul><li><a href="midi_solo_cello.html">Cello suites</a></li><li><a href="midi_solo_violin.html">Violin</a></li>
<li><a href="midi_johnsankey.html">John Sankey</a></li>
<li><a href="../index.html">Home</a></li><li><a href="../bcs/index.html">Bach Central Station</a></li></ul>""")
    cello = []
    for suite, key in enumerate(CELLO_KEYS, 1):
        rows = [("1.", "Prelude", f"cs{suite}-1pre.mid"), ("6.", "Gigue", f"cs{suite}-6gig.mid")]
        rows += [("5.", "Bourr\u00e9e", "bourree.mid")] if suite == 3 else []  # only the heading names its work
        cello.append(f"<h2>Suite No. {suite} in {key}, BWV {1006 + suite}</h2><table>" + "".join(
            f'<tr><td>{n}</td><td>{title}</td><td><a href="{f}">{f}</a></td></tr>' for n, title, f in rows) + "</table>")
        for _, _, f in rows:
            midi("jsb/midi/" + f)
    files["jsb/midi/midi_solo_cello.html"] = _page("MIDI Files - Cello Suites", "\n".join(cello))
    files["jsb/midi/midi_solo_violin.html"] = _page("MIDI Files - Sonatas and Partitas for Violin", "\n".join(
        f'<h3>{work}, BWV {bwv}</h3><ul><li><a href="{f}">{movement}</a></li></ul>' for work, bwv, f, movement in VIOLIN))
    for _, _, f, _ in VIOLIN:
        midi("jsb/midi/" + f)
    files["jsb/midi/midi_johnsankey.html"] = _page("John Sankey's harpsichord", """
<h2>Keyboard works</h2>
<table><tr><td>Two-part inventions, BWV 772-786</td><td><a href="sankey/772-786.zip">zip</a></td></tr>
<tr><td>Well-Tempered Clavier I, BWV 846-869</td><td><a href="sankey/846-869.zip">zip</a></td></tr></table>
<table><caption>Italian Concerto, BWV 971</caption>
<tr><td><a href="sankey/italian1.mid">First movement</a></td></tr></table>""")
    # A range names no work: inv01 is 772 by its own name; sinf01 (787) is outside the range, notes.mid has no number.
    files["jsb/midi/sankey/772-786.zip"] = zip_bytes({name: midi(None) for name in (
        "inv01.mid", "inv02.mid", "inv15.mid", "sinf01.mid", "notes.mid")})
    files["jsb/midi/sankey/846-869.zip"] = zip_bytes({name: midi(None) for name in ("bwv846.mid", "bwv847.mid")})
    midi("jsb/midi/sankey/italian1.mid")

    rows = []
    for bwv, key in PIANO_MIDI:
        midi(f"pmd/midis/bach/bach_{bwv}.mid")
        files[f"pmd/midis/bach/bach_{bwv}_format0.mid"] = format0(files[f"pmd/midis/bach/bach_{bwv}.mid"])
        rows.append(f'<tr><td>Prelude and Fugue in {key}</td><td><a href="midis/bach/bach_{bwv}.mid">bach_{bwv}.mid</a> '
                    f'<a href="midis/bach/bach_{bwv}_format0.mid">Format 0</a></td></tr>')
    files["pmd/bach.htm"] = _page("Johann Sebastian Bach", "<table>" + "".join(rows) + "</table>"
                                  '<p><a href="mozart.htm">Mozart</a> <a href="index.htm">Home</a></p>')
    files["pmd/mozart.htm"] = _page("Mozart", "")
    files["pmd/index.htm"] = _page("Classical Piano Midi Page", '<a href="bach.htm">Bach</a>')
    files["teapot/bach.htm"] = _page("Bach", "never served")
    files["private/bach.html"] = _page("Bach", "forbidden by robots.txt")


def build_site(root: Path, extra_pages: int = 0, files_per_page: int = 20, big_file_mb: float = 1.5) -> Path:
    """Write the site under ``root``; returns ``root``. Start URLs: :func:`start_urls`."""
    root = Path(root)
    files: dict[str, bytes] = {}
    seed = iter(range(1, 1_000_000))

    def midi(path: str | None) -> bytes:
        """A new MIDI file, at ``path`` on the site (or returned only)."""
        data = midi_bytes(next(seed))
        if path is not None:
            files[path] = data
        return data

    files["robots.txt"] = b"User-agent: *\nDisallow: /private/\n"
    extra_links = "".join(f'<li><a href="more/page{p}.html">More Bach, page {p}</a></li>' for p in range(extra_pages))
    files["bach/index.html"] = _page("J. S. Bach MIDI archive", f"""
<ul>
<li><a href="keyboard/index.html">Keyboard works</a></li>
<li><a href="goldberg.html">Goldberg Variations</a></li>
<li><a href="chorales.html">Chorales</a></li>
<li><a href="deep1.html">Deeper listings (Bach)</a></li>
<li><a href="/news/index.html">News</a></li>
<li><a href="/private/bwv0999.mid">Private copy</a></li>
<li><a href="http://localhost/bach/other.html">Mirror (another domain)</a></li>
<li><a href="http://example.org/bach/bwv0001.mid">Cantata 1 elsewhere</a></li>
<li><a href="download.php?file=bwv0772.mid">Invention 1</a></li>
<li><a href="go/toccata-and-fugue.mid">Toccata and Fugue (moved)</a></li>
<li><a href="zips/bwv1007-suite.zip">Cello Suite No. 1 (zip)</a></li>
<li><a href="zips/inventions.zip">More inventions (zip)</a></li>
<li><a href="zips/big.zip">Everything (zip)</a></li>
<li><a href="fake/bwv0846.mid">Prelude in C</a></li>
<li><a href="files/bwv0847-broken.mid">Fugue in C minor</a></li>
<li><a href="files/bwv0848.mid">Prelude in C sharp</a></li>
<li><a href="mirror/bwv0848-copy.mid">Prelude in C sharp (mirror)</a></li>
<li><a href="files/prelude.mid">A prelude</a></li>
<li><a href="flaky/bwv0849.mid">Prelude in C sharp minor</a></li>
<li><a href="files/bwv0850-huge.mid">Prelude in D (huge)</a></li>
{extra_links}
</ul>""")
    files["bach/keyboard/index.html"] = _page("Keyboard", '<p><a href="wtc.html">Well-Tempered Clavier and more</a></p>')
    files["bach/keyboard/wtc.html"] = _page("Keyboard works", """
<table>
<tr><td>Das wohltemperierte Klavier I, BWV 846-869</td>
    <td><a href="wtc1/prelude01.mid">Prelude 1</a> <a href="wtc1/prelude02.mid">Prelude 2</a></td></tr>
<tr><td>Partita No. 2 for violin, BWV 1004</td><td><a href="chaconne.mid">Chaconne</a></td></tr>
</table>""")
    files["bach/goldberg.html"] = _page("Goldberg Variations, BWV 988", """
<p><a href="goldberg/aria.mid">Aria</a> <a href="goldberg/988-v01.mid">Variation 1</a></p>""")
    files["bach/chorales.html"] = _page("Four-part chorales", """
<p><a href="chorales/004207b_.mid">Chorale 42.7</a> <a href="chorales/014003_.mid">Chorale 140.3</a></p>""")
    for level in (1, 2, 3, 4):
        files[f"bach/deep{level}.html"] = _page(f"Bach listing, level {level}", f"""
<p><a href="deep{level + 1}.html">Bach, one level deeper</a> <a href="deep/bwv{1000 + level:04d}.mid">Sonata</a></p>""")
    files["news/index.html"] = _page("News", '<a href="/news/bwv0998.mid">New upload</a>')
    files["private/secret.html"] = _page("Private", "")
    for path in ("private/bwv0999.mid", "news/bwv0998.mid", "bach/downloads/bwv0772.mid",
                 "bach/files/Bach_BWV_565_Toccata.mid", "bach/files/bwv0848.mid", "bach/flaky/bwv0849.mid",
                 "bach/keyboard/wtc1/prelude01.mid", "bach/keyboard/wtc1/prelude02.mid", "bach/keyboard/chaconne.mid",
                 "bach/goldberg/aria.mid", "bach/goldberg/988-v01.mid", "bach/chorales/004207b_.mid",
                 "bach/chorales/014003_.mid", "bach/files/prelude.mid",
                 *(f"bach/deep/bwv{1000 + level:04d}.mid" for level in (1, 2, 3, 4))):
        midi(path)
    files["bach/mirror/bwv0848-copy.mid"] = files["bach/files/bwv0848.mid"]
    files["bach/fake/bwv0846.mid"] = HTML_AS_MIDI
    files["bach/files/bwv0847-broken.mid"] = midi_bytes(next(seed))[:30]  # header, then the track breaks off
    files["bach/files/bwv0850-huge.mid"] = midi_bytes(next(seed)) + b"\0" * int(big_file_mb * 1024 * 1024)
    files["bach/zips/bwv1007-suite.zip"] = zip_bytes({"suite1/prelude.mid": midi_bytes(next(seed)),
                                                 "suite1/allemande.mid": midi_bytes(next(seed)),
                                                 "suite1/readme.txt": b"Cello suite No. 1"})
    files["bach/zips/inventions.zip"] = zip_bytes({"inventions/bwv0773.mid": midi_bytes(next(seed)),
                                              "../bwv0774.mid": midi_bytes(next(seed)),
                                              "/tmp/bwv0775.mid": midi_bytes(next(seed))})
    # A zip bomb: about 80 kB that would unpack to 80 MiB, beyond the default limit of 64.
    files["bach/zips/big.zip"] = zip_bytes({"bwv0851.mid": midi_bytes(next(seed)) + b"\0" * (80 * 1024 * 1024)})

    _replicas(files, midi)

    for p in range(extra_pages):
        links = []
        for f in range(files_per_page):
            path = f"more/p{p}/bwv{1 + (p * files_per_page + f) % 1100:04d}-{p}-{f}.mid"
            midi("bach/" + path)
            links.append(f'<a href="../{path}">File {f}</a>')
        files[f"bach/more/page{p}.html"] = _page(f"More Bach, page {p}", " ".join(links))

    for path, data in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data if isinstance(data, bytes) else data.encode())
    return root


class _Handler(SimpleHTTPRequestHandler):
    """Static files, plus the archives' dynamic habits: download.php, a redirect, an HTML error page, a 503,
    a folder answering 418."""

    def do_GET(self):
        self.server.requests.append(self.path)
        if self.path in self.server.hold:  # keep this request waiting until the test opens the gate
            self.server.held.set()
            self.server.gate.wait(30)
        parts = urlsplit(self.path)
        if parts.path == "/bach/download.php":
            name = parse_qs(parts.query).get("file", [""])[0]
            self.path = f"/bach/downloads/{Path(name).name}"
        elif parts.path == "/bach/go/toccata-and-fugue.mid":
            return self._answer(302, b"", [("Location", "/bach/files/Bach_BWV_565_Toccata.mid")])
        elif parts.path == "/bach/fake/bwv0846.mid":
            return self._answer(200, HTML_AS_MIDI, [("Content-Type", "text/html")])
        elif parts.path.startswith("/teapot/"):
            return self._answer(418, b"I'm a teapot", [("Content-Type", "text/plain")])
        elif parts.path == "/bach/flaky/bwv0849.mid" and self.path not in self.server.failed_once:
            self.server.failed_once.add(self.path)
            return self._answer(503, b"busy", [("Retry-After", "0")])
        return super().do_GET()

    def _answer(self, status: int, body: bytes, headers: list[tuple[str, str]]) -> None:
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # quiet: the tests read server.requests instead
        pass


@contextmanager
def serve(root: Path, port: int = 0):
    """Serve ``root`` on 127.0.0.1 in a thread; yields the server (``server.base_url``, ``server.requests``)."""
    server = ThreadingHTTPServer(("127.0.0.1", port), partial(_Handler, directory=str(root)))
    server.requests, server.failed_once = [], set()
    server.hold, server.held, server.gate = set(), threading.Event(), threading.Event()
    server.gate.set()
    server.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
