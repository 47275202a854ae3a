from bayesbach.core import logs
from bayesbach.evaluation.effective_order import write_orders

logs.setup(snakemake.log[0])
write_orders(snakemake.input.errors, snakemake.output.orders)
