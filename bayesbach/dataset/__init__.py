"""Stage 2, the dataset: MIDI to chord events (``midi``), compositions, their families and their split (``families``, ``split``), each file's key (``keys``),
the arrays the models read (``loader``) and the evaluation noise by common random numbers (``noise``)."""
