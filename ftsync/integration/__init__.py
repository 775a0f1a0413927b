"""OpenAI's own W&B integration, and how ftsync's runs relate to what W&B already holds.

`openai_run` reads the integration from the job object; `plan` decides, per job, whether ftsync
writes its own run (new, resumed or rewound) or adds to OpenAI's, from the job, the ledger and W&B's
listing of the project. The sink carries the plan out.
"""

from .openai_run import OPENAI_CONFIG_KEYS, OPENAI_TAG, OpenAIRun, is_openai_run, openai_run_of
from .plan import ENRICH, GONE, OWN, LeftToOpenAI, RunPlan, gone_from_wandb, plan_run

__all__ = ["ENRICH", "GONE", "OPENAI_CONFIG_KEYS", "OPENAI_TAG", "OWN", "LeftToOpenAI", "OpenAIRun", "RunPlan",
           "gone_from_wandb", "is_openai_run", "openai_run_of", "plan_run"]
