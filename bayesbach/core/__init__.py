"""The small core every stage uses: the registry of names, the path layout, config, Arrow schemas, atomic writes, seeds,
logging, provenance of code, parallel maps and the cluster cost model. Nothing here imports torch or
matplotlib, so that planning a study stays fast."""
