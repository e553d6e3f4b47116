"""Tests of tools/setup_env.sh's mmcv variant choice and wheel cache, with fake probes.

The script asks ``$RLPKD_VENV/bin/python`` about torch (version, CUDA version, GPU count,
the cuda-toolkit release it pins, its nvidia/ directory) and ``$CUDA_HOME/bin/nvcc --version``
about the toolkit. Here both are small shell scripts,
so the CUDA decisions run on a machine without CUDA; ``pip`` calls are only logged, and
nothing is built or installed. ``--print-variant`` prints ``key=value`` lines.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / 'tools' / 'setup_env.sh'
WHEEL = 'mmcv-2.1.0-cp311-cp311-linux_x86_64.whl'
CPU_TORCH = '2.14.1 none 0'  # torch.__version__ (local tag stripped), torch.version.cuda, GPUs
CUDA12_GPU = '2.14.1 12.1 1'


def write_exe(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('#!/bin/sh\n' + text)
    path.chmod(0o755)


def run_script(tmp_path: Path, torch: str, nvcc: str | None = None, *args: str,
               mmcv_ops: str | None = None, cuda_home: bool = True,
               **env: str) -> subprocess.CompletedProcess:
    """Run setup_env.sh against a fake venv and a fake CUDA toolkit under ``tmp_path``.

    ``torch`` is what the fake python prints for the torch probe, ``nvcc`` the release the fake
    nvcc reports (None: no nvcc), ``mmcv_ops`` what the installed mmcv's
    ``get_compiling_cuda_version()`` returns (None: mmcv does not import). ``cuda_home=False``
    leaves CUDA_HOME unset and PATH without nvcc, so the script looks for PyPI's toolkit.
    """
    mmcv = f'echo "{mmcv_ops}"' if mmcv_ops is not None else 'exit 1'
    # pip: log the call; `download -d D` leaves a tiny mmcv sdist in D, `wheel -w W` records
    # its environment and setup.py in tmp_path and leaves a wheel in W.
    write_exe(tmp_path / 'venv/bin/python', f"""
if [ "$1 $2" = "-m pip" ]; then
    echo "$*" >> "{tmp_path}/pip.log"
    cmd=$3
    while [ $# -gt 1 ]; do case "$1" in -d|-w) dir=$2;; esac; shift; done
    case "$cmd" in
    download) mkdir "$dir/mmcv-2.1.0" && echo "args = ['-std=c++17']" > "$dir/mmcv-2.1.0/setup.py"
              tar -czf "$dir/mmcv-2.1.0.tar.gz" -C "$dir" mmcv-2.1.0 && rm -r "$dir/mmcv-2.1.0";;
    wheel) env > "{tmp_path}/build.env"; cp setup.py "{tmp_path}/setup.py"; touch "$dir/{WHEEL}";;
    esac
    exit 0
fi
case "$2" in *mmcv.ops*) {mmcv};; *torch*) echo "{torch}";; *) exit 2;; esac
""")
    toolkit = tmp_path / 'cuda'
    toolkit.mkdir(exist_ok=True)
    if nvcc is not None:
        write_exe(toolkit / 'bin/nvcc',
                  f'echo "Cuda compilation tools, release {nvcc}, V{nvcc}.105"\n')
    base = {k: v for k, v in os.environ.items()
            if not k.startswith('RLPKD_')
            and k not in ('CUDA_HOME', 'CUDA_PATH', 'TORCH_CUDA_ARCH_LIST')}
    base.update(RLPKD_VENV=str(tmp_path / 'venv'), RLPKD_CACHE=str(tmp_path / 'cache'), **env)
    if cuda_home:
        base['CUDA_HOME'] = str(toolkit)
    else:
        base['PATH'] = '/usr/bin:/bin'
    return subprocess.run(['bash', str(SCRIPT), *args], env=base, capture_output=True,
                          text=True, timeout=60)


def variant(tmp_path: Path, torch: str, nvcc: str | None = None, **env: str) -> dict[str, str]:
    proc = run_script(tmp_path, torch, nvcc, '--print-variant', **env)
    assert proc.returncode == 0, proc.stderr
    out = dict(line.split('=', 1) for line in proc.stdout.splitlines())
    out['stderr'] = proc.stderr
    return out


def put_wheel(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / WHEEL).touch()
    return directory / WHEEL


@pytest.fixture
def wheelhouse(tmp_path: Path) -> Path:
    """A CI-style wheelhouse: one CPU wheel directly in it, like ../shared/wheels."""
    put_wheel(tmp_path / 'wheelhouse')
    return tmp_path / 'wheelhouse'


def test_cpu_torch_gives_cpu_variant_and_uses_the_wheelhouse(tmp_path, wheelhouse):
    out = variant(tmp_path, CPU_TORCH, '12.1', RLPKD_WHEELHOUSE=str(wheelhouse))
    assert out['variant'] == 'cpu'
    assert 'FORCE_CUDA=0' in out['build_env'].split()
    assert out['wheel'] == str(wheelhouse / WHEEL)
    assert out['wheel_cache'] == str(tmp_path / 'cache/wheels/torch2.14.1-cpu')


def test_cuda_torch_without_gpu_stays_cpu_quietly(tmp_path, wheelhouse):
    # This CI machine: torch 2.14.1+cu130 from PyPI and nvcc 13.0, but no GPU.
    out = variant(tmp_path, '2.14.1 13.0 0', '13.0', RLPKD_WHEELHOUSE=str(wheelhouse))
    assert out['variant'] == 'cpu'
    assert out['wheel'] == str(wheelhouse / WHEEL)
    assert 'WARNING' not in out['stderr']
    assert 'no GPU is visible' in out['stderr']


@pytest.mark.parametrize('torch,arch,key', [
    (CUDA12_GPU, None, 'torch2.14.1-cuda12.1'),
    (CUDA12_GPU, '8.0;9.0+PTX', 'torch2.14.1-cuda12.1-arch8.0_9.0+PTX'),
    ('2.14.1 12.1 0', '9.0', 'torch2.14.1-cuda12.1-arch9.0'),  # cross build: no GPU, archs given
])
def test_cuda12_builds_cuda_ops_honouring_the_arch_list(tmp_path, wheelhouse, torch, arch, key):
    put_wheel(tmp_path / 'cache/wheels')  # a flat (CPU) wheel in the cache must not count either
    env = {'RLPKD_WHEELHOUSE': str(wheelhouse)}
    if arch is not None:
        env['TORCH_CUDA_ARCH_LIST'] = arch
    out = variant(tmp_path, torch, '12.1', **env)
    build_env = out['build_env'].split()
    assert out['variant'] == 'cuda12.1'
    assert 'FORCE_CUDA=1' in build_env
    assert f'CUDA_HOME={tmp_path / "cuda"}' in build_env
    assert ([e for e in build_env if e.startswith('TORCH_CUDA_ARCH_LIST=')]
            == ([f'TORCH_CUDA_ARCH_LIST={arch}'] if arch else []))
    assert out['wheel_cache'] == str(tmp_path / 'cache/wheels' / key)
    assert out['wheel'] == ''  # the CPU wheels are not picked: it would build
    assert 'variant: cuda12.1' in out['stderr']


def test_wheel_cache_differs_per_variant(tmp_path):
    caches = {variant(tmp_path, torch, '12.1')['wheel_cache']
              for torch in (CPU_TORCH, CUDA12_GPU, '2.14.1 12.4 1', '2.15.0 12.1 1')}
    assert len(caches) == 4


@pytest.mark.parametrize('keyed_in', ['wheelhouse', 'cache/wheels'])
def test_cuda_wheel_is_reused_from_its_variant_directory(tmp_path, wheelhouse, keyed_in):
    wheel = put_wheel(tmp_path / keyed_in / 'torch2.14.1-cuda12.1')
    out = variant(tmp_path, CUDA12_GPU, '12.1', RLPKD_WHEELHOUSE=str(wheelhouse))
    assert out['wheel'] == str(wheel)
    # ... and a CUDA wheel is not reused for CPU torch.
    assert variant(tmp_path, CPU_TORCH, '12.1')['wheel'] == ''


def cuda13(tmp_path: Path, gpus: int = 1) -> str:
    """The torch probe of PyPI's torch 2.14.1+cu130: it pins cuda-toolkit 13.0.3."""
    return f'2.14.1 13.0 {gpus} 13.0.3 {tmp_path / "venv/site-packages/nvidia"}'


@pytest.mark.parametrize('arch,gpus', [(None, 1), ('8.0;9.0', 0), ('7.5;9.0+PTX', 1)])
def test_cuda13_torch_builds_with_pypis_nvcc_of_its_pinned_release(tmp_path, wheelhouse, arch,
                                                                   gpus):
    env = {'RLPKD_WHEELHOUSE': str(wheelhouse)}
    if arch is not None:
        env['TORCH_CUDA_ARCH_LIST'] = arch
    proc = run_script(tmp_path, cuda13(tmp_path, gpus), None, '--print-variant',
                      cuda_home=False, **env)
    assert proc.returncode == 0, proc.stderr
    out = dict(line.split('=', 1) for line in proc.stdout.splitlines())
    assert out['variant'] == 'cuda13.0'
    assert out['toolkit_pin'] == '13.0.3'
    assert f'CUDA_HOME={tmp_path / "venv/site-packages/nvidia/cu13"}' in out['build_env'].split()
    assert out['wheel'] == ''  # the wheelhouse's CPU wheel is not picked: it would build
    assert 'WARNING' not in proc.stderr and 'cuda-toolkit 13.0.3' in proc.stderr


def test_cuda13_with_an_explicit_cuda_home_uses_that_toolkit(tmp_path):
    out = variant(tmp_path, cuda13(tmp_path), '13.0')
    assert out['variant'] == 'cuda13.0' and out['toolkit_pin'] == ''
    assert f'CUDA_HOME={tmp_path / "cuda"}' in out['build_env'].split()


def test_cuda13_refuses_arch_entries_below_7_5_naming_them(tmp_path):
    proc = run_script(tmp_path, cuda13(tmp_path), None, '--print-variant', cuda_home=False,
                      TORCH_CUDA_ARCH_LIST='6.1;7.0;8.0')
    assert proc.returncode == 1
    assert 'TORCH_CUDA_ARCH_LIST=6.1;7.0;8.0' in proc.stderr and 'remove 6.1 7.0' in proc.stderr


def test_cuda13_build_installs_pypis_toolkit_and_links_the_runtime(tmp_path):
    lib = tmp_path / 'venv/site-packages/nvidia/cu13/lib'
    lib.mkdir(parents=True)
    (lib / 'libcudart.so.13').touch()
    proc = run_script(tmp_path, cuda13(tmp_path), None, cuda_home=False,
                      TORCH_CUDA_ARCH_LIST='9.0')
    assert proc.returncode == 0, proc.stderr
    calls = pip_calls(tmp_path)
    toolkit = [i for i, c in enumerate(calls) if 'cuda-toolkit[nvcc,cccl]==13.0.3' in c]
    build = [i for i, c in enumerate(calls) if c.startswith('-m pip wheel')]
    assert toolkit and build and toolkit[0] < build[0]
    assert os.readlink(lib / 'libcudart.so') == 'libcudart.so.13'
    build_env = (tmp_path / 'build.env').read_text().splitlines()
    assert f'CUDA_HOME={lib.parent}' in build_env and 'FORCE_CUDA=1' in build_env


def test_cuda12_torch_with_cuda13_nvcc_falls_back_to_cpu_ops_loudly(tmp_path, wheelhouse):
    out = variant(tmp_path, '2.14.1 12.8 1', '13.0', RLPKD_WHEELHOUSE=str(wheelhouse))
    assert out['variant'] == 'cpu'
    assert out['wheel'] == str(wheelhouse / WHEEL)
    assert 'WARNING' in out['stderr'] and 'differ in major' in out['stderr']


def test_cuda_ops_required_but_not_buildable_stops(tmp_path):
    proc = run_script(tmp_path, '2.14.1 12.8 1', '13.0', '--print-variant', RLPKD_MMCV_OPS='cuda')
    assert proc.returncode == 1
    assert 'ERROR' in proc.stderr and 'differ in major' in proc.stderr


@pytest.mark.parametrize('nvcc,message', [(None, 'no nvcc'), ('11.8', 'differ in major')])
def test_unusable_nvcc_falls_back_to_cpu_ops(tmp_path, nvcc, message):
    out = variant(tmp_path, CUDA12_GPU, nvcc)
    assert out['variant'] == 'cpu'
    assert 'WARNING' in out['stderr'] and message in out['stderr']


def test_cpu_ops_can_be_forced(tmp_path):
    out = variant(tmp_path, CUDA12_GPU, '12.1', RLPKD_MMCV_OPS='cpu')
    assert out['variant'] == 'cpu'
    assert 'WARNING' not in out['stderr']


def pip_calls(tmp_path: Path) -> list[str]:
    return (tmp_path / 'pip.log').read_text().splitlines()


def test_ci_path_keeps_the_installed_cpu_mmcv(tmp_path, wheelhouse):
    proc = run_script(tmp_path, '2.14.1 13.0 0', '13.0', mmcv_ops='not available',
                      RLPKD_WHEELHOUSE=str(wheelhouse))
    assert proc.returncode == 0, proc.stderr
    assert not [c for c in pip_calls(tmp_path) if 'mmcv' in c]
    assert 'ready:' in proc.stderr


def test_wheelhouse_cpu_wheel_is_installed_and_cached_under_its_variant(tmp_path, wheelhouse):
    proc = run_script(tmp_path, CPU_TORCH, None, RLPKD_WHEELHOUSE=str(wheelhouse))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / 'cache/wheels/torch2.14.1-cpu' / WHEEL).is_file()
    assert any(c.endswith(f'--force-reinstall {wheelhouse / WHEEL}') for c in pip_calls(tmp_path))


def test_cpu_mmcv_is_replaced_by_the_cached_cuda_wheel(tmp_path, wheelhouse):
    wheel = put_wheel(tmp_path / 'cache/wheels/torch2.14.1-cuda12.1')
    proc = run_script(tmp_path, CUDA12_GPU, '12.1', mmcv_ops='not available',
                      RLPKD_WHEELHOUSE=str(wheelhouse))
    assert proc.returncode == 0, proc.stderr
    assert [c for c in pip_calls(tmp_path) if 'mmcv' in c] == [
        f'-m pip install --quiet --disable-pip-version-check --no-deps --force-reinstall {wheel}']
    assert f'reusing {wheel}' in proc.stderr


@pytest.mark.parametrize('torch,arch,wanted', [
    (CUDA12_GPU, '8.0;9.0', ['FORCE_CUDA=1', 'TORCH_CUDA_ARCH_LIST=8.0;9.0']),
    (CPU_TORCH, None, ['FORCE_CUDA=0', 'CUDA_VISIBLE_DEVICES=']),
])
def test_build_passes_the_variant_to_mmcv_setup(tmp_path, wheelhouse, torch, arch, wanted):
    # No wheel for a CUDA variant (the wheelhouse holds a CPU one): build; CPU: no wheelhouse.
    env = {'TORCH_CUDA_ARCH_LIST': arch} if arch else {}
    if arch:
        env['RLPKD_WHEELHOUSE'] = str(wheelhouse)
    proc = run_script(tmp_path, torch, '12.1', **env)
    assert proc.returncode == 0, proc.stderr
    build_env = (tmp_path / 'build.env').read_text().splitlines()
    assert set(wanted + ['MMCV_WITH_OPS=1']) <= set(build_env)
    assert "'-std=c++20'" in (tmp_path / 'setup.py').read_text()
    key = 'torch2.14.1-cuda12.1-arch8.0_9.0' if arch else 'torch2.14.1-cpu'
    wheel = tmp_path / 'cache/wheels' / key / WHEEL
    assert f'built {wheel}' in proc.stderr
    assert pip_calls(tmp_path)[-2].endswith(f'--force-reinstall {wheel}')
