"""Stage 3b, the reference ladder: counted chord models and the ideal observer (``counted``), and the
reference networks trained with the networks' own trainer (``trained``)."""
