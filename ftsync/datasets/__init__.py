"""Dataset inspection for fine-tuning JSONL: stream, detect, validate, count tokens, summarise, preview.

    from ftsync.datasets import inspect
    report = inspect("train.jsonl", model="gpt-4.1-mini", validation="valid.jsonl")
    report.format, report.examples, report.errors, report.tokens, report.estimated_cost_usd

Nothing here imports wandb or streamlit: the sync engine and UI turn `wandb_rows`/`table_frame` into
their own objects.
"""

from .codes import CODES, DatasetError, Finding
from .formats import FORMATS, detect_format, example_kind
from .prices import MODELS, BaseModel, resolve_model
from .reader import Line, iter_lines
from .report import DatasetReport, inspect
from .stats import default_epochs, histograms
from .tables import TableRows, table_frame, wandb_rows
from .tokens import Encoder, count_tokens, encoding_for_model, get_encoder

__all__ = [
    "CODES", "DatasetError", "Finding", "FORMATS", "detect_format", "example_kind", "MODELS", "BaseModel",
    "resolve_model", "Line", "iter_lines", "DatasetReport", "inspect", "default_epochs", "histograms", "TableRows",
    "table_frame", "wandb_rows", "Encoder", "count_tokens", "encoding_for_model", "get_encoder",
]
