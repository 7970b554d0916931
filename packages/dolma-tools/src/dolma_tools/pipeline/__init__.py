"""One command from raw documents to token arrays: tag, filter, dedupe, mix, tokenize, with a data
funnel at the end (see ``run``)."""

from dolma_tools.pipeline.config import PipelineConfig, load_pipeline_config, shipped_configs
from dolma_tools.pipeline.run import run_pipeline

__all__ = ["PipelineConfig", "load_pipeline_config", "run_pipeline", "shipped_configs"]
