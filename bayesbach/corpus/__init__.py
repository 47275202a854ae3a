"""Stage 1, the corpus: where the MIDI files come from (``data/raw/<source>/``).

``bundled`` exports music21's Bach scores, ``crawl`` downloads the web archives, ``bwv`` reads BWV numbers
from names and pages, ``manifest`` writes the contract every source ends with."""
