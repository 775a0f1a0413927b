"""Recording what fine-tuned models answer before they stop serving (`ftsync record`).

`deadlines` says until when each model serves, `prompts` takes a job's prompts and references from
its files, `prices` what asking costs, `runner` plans (cost first) and asks, `store` keeps each answer
in the ledger as it arrives, `scores` judges answers without another model, `wandb_out` writes the
`outputs` table and artifact into the job's run.
"""
