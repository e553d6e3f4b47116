"""``tools/benchmark.py``: the plan of runs per task, resumable execution through the
real tools, the tables; the launcher and progress display shared with ``tools/demo.py``."""
from .full_scale import full_commands
from .launch import ToolError, run_tool
from .plan import SCHEDULE_CONTROL, TASKS, Method, TaskSetup, methods, select
from .progress import PlanProgress
from .suite import run_benchmark, run_plan

__all__ = ['SCHEDULE_CONTROL', 'TASKS', 'Method', 'PlanProgress', 'TaskSetup', 'ToolError',
           'full_commands', 'methods', 'run_benchmark', 'run_plan', 'run_tool', 'select']
