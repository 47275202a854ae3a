"""Stage 3, the networks: the models, the training loop, the scoring of whole pieces, and one training job."""
