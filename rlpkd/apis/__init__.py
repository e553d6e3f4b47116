"""High-level entry points of rlpkd: the plumbing behind ``tools/*.py``."""
from .checks import check_annotation_files
from .cli import (
    add_common_args,
    add_dump_results,
    build_runner,
    enable_amp,
    enable_auto_scale_lr,
    load_config,
    parse_and_set_local_rank,
    read_config,
    save_metrics,
    set_resume,
)

__all__ = [
    'check_annotation_files',
    'add_common_args', 'add_dump_results', 'build_runner', 'enable_amp',
    'enable_auto_scale_lr', 'load_config', 'parse_and_set_local_rank', 'read_config',
    'save_metrics', 'set_resume',
]
