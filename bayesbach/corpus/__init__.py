"""Stage 1, the corpus: where the MIDI files come from (``data/raw/<source>/``).

``bundled`` exports music21's Bach scores (and other composers'), ``crawl`` downloads the web archives,
``folder`` takes any folders of MIDI files, ``files`` lists and caps a source's files, ``bwv`` reads BWV numbers
from names and pages, ``manifest`` writes the contract every source ends with."""
