"""Recording what fine-tuned models answer before they stop serving (`ftsync record`).

`deadlines` says until when each model serves, `prompts` takes a job's prompts and references from
its files, `prices` what asking costs, `runner` plans (cost first) and asks, `store` keeps each answer
in the ledger as it arrives, `scores` judges answers without another model, `wandb_out` writes the
`outputs` table and artifact into the job's run, `background` runs a record for the dashboard within
the operator's limits.

The defaults live here, so the CLI's help can say them without importing the SDKs.
"""

# 16 at once: OpenAI's request limits for fine-tuned models are in the thousands per minute, and the
# rate-limit headers slow a record down where they are lower
DEFAULT_EXAMPLES, DEFAULT_CONCURRENCY, DEFAULT_MAX_COST = 100, 16, 2.0
