"""Stage 2, the dataset: MIDI to chord events (``midi``), compositions and their split (``split``),
the arrays the models read (``loader``) and the evaluation noise by common random numbers (``noise``)."""
