"""What the spider hands to the pipeline: one downloaded file and what the archive said about it."""

from __future__ import annotations

from dataclasses import dataclass

from bayesbach.corpus.bwv import Clues


@dataclass
class Download:
    """A downloaded file (a MIDI file, a zip archive, or whatever a file link served)."""

    site: str  # the host of the start URL it was found from (its folder in data/raw/web)
    origin: str  # that start URL (the report's row)
    url: str  # the link as found on the page
    final_url: str  # where it came from after redirects
    body: bytes
    link_text: str = ""
    row_text: str = ""
    heading: str = ""
    position: tuple[int, int] | None = None

    def clues(self, member: str | None = None) -> Clues:
        """The clues to its BWV number (of one member, for a zip archive)."""
        others = (self.url,) if self.url != self.final_url else ()
        return Clues(self.final_url, member, self.link_text, self.row_text, self.heading, self.position, others)
