"""Stage 4, the evaluation: each network scored on the test split (``evaluation_job``), the long tables of every
network and reference (``collect``), the paired statistics (``stats``), the prediction-error analysis
of the hidden states (``prediction_errors``) and every model on other composers (``generalisation``)."""
