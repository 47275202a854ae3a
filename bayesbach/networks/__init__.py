"""Stage 3, the networks: the models, the training loop, the scoring of every file, and one training job."""
