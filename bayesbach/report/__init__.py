"""Stage 5, the report: figures, listening MIDI and the results page."""
