"""rlpkd.utils.checkpoint_io: checkpoints that cannot run code, writes that cannot tear.

The malicious files are real pickles whose unpickling calls ``os.system``; a marker file
shows whether it ran. Real runner checkpoints of every task are loaded by the engine and
tools tests (they all go through the same loader); here: a real ``message_hub`` state.
"""
from __future__ import annotations

import errno
import os
import stat

import numpy as np
import pytest
import torch
from mmengine.fileio import get_file_backend
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.runner import CheckpointLoader

from rlpkd.testing import malicious_checkpoint
from rlpkd.utils.checkpoint_io import (
    AtomicLocalBackend,
    CheckpointReadError,
    UntrustedCheckpointError,
    checkpoint_keys,
    safe_loader,
    trusted_checkpoints,
)


class ReachesGlobals:
    """Unpickles to ``getattr(HistoryBuffer, '__init__')``: a first step to ``__globals__``."""

    def __reduce__(self):
        return getattr, (HistoryBuffer, '__init__')


@pytest.mark.parametrize('name', ['evil.pth', 'https://example.invalid/evil.pth'])
def test_every_scheme_is_safe(name):
    assert getattr(CheckpointLoader._get_checkpoint_loader(name), 'rlpkd_safe', False)


@pytest.mark.bad_input
def test_malicious_pickle_fails_before_it_runs(tmp_path):
    marker = tmp_path / 'ran'
    path = malicious_checkpoint(tmp_path / 'evil.pth', marker)
    with checkpoint_keys({str(path): 'model.teacher_ckpt'}), \
            pytest.raises(UntrustedCheckpointError) as err:
        CheckpointLoader.load_checkpoint(str(path), 'cpu')
    assert not marker.exists()
    for part in ('`model.teacher_ckpt`', str(path), 'posix.system', '--trust-checkpoint',
                 'trust_checkpoint = True'):
        assert part in str(err.value)


@pytest.mark.bad_input
def test_getattr_is_only_a_history_buffer_statistic(tmp_path):
    torch.save({'x': ReachesGlobals()}, tmp_path / 'g.pth')
    with pytest.raises(UntrustedCheckpointError, match='builtins.getattr'):
        CheckpointLoader.load_checkpoint(str(tmp_path / 'g.pth'), 'cpu')


def test_trusted_file_loads_everything(tmp_path):
    marker = tmp_path / 'ran'
    path = malicious_checkpoint(tmp_path / 'evil.pth', marker)
    with trusted_checkpoints():
        CheckpointLoader.load_checkpoint(str(path), 'cpu')
    assert marker.exists()  # the opt-in is real: the user's trusted pickle ran
    marker.unlink()
    with pytest.raises(UntrustedCheckpointError):  # and it ends with the block
        CheckpointLoader.load_checkpoint(str(path), 'cpu')
    assert not marker.exists()


def test_message_hub_and_numpy_state_load(tmp_path):
    """What a runner checkpoint holds besides tensors: the message hub's history
    buffers (numpy arrays, statistics methods), numpy scalars and RNG state."""
    hub = MessageHub.get_instance('rlpkd_checkpoint_io_test')
    for step in range(3):
        hub.update_scalar('train/loss', np.float64(0.5 * step))
        hub.update_scalar('train/lr', 0.1)
    saved = {'message_hub': hub.state_dict(), 'seed': np.int64(3),
             'numpy_rng': np.random.get_state(), 'dtype': np.dtype('float32'),
             'rng': torch.get_rng_state()}
    torch.save(saved, tmp_path / 'hub.pth')
    loaded = CheckpointLoader.load_checkpoint(str(tmp_path / 'hub.pth'), 'cpu')
    restored = MessageHub.get_instance('rlpkd_checkpoint_io_restored')
    restored.load_state_dict(loaded['message_hub'])
    assert restored.get_scalar('train/loss').mean() == pytest.approx(0.5)
    assert loaded['seed'] == 3 and loaded['dtype'] == np.float32
    assert np.array_equal(loaded['numpy_rng'][1], saved['numpy_rng'][1])


@pytest.mark.fault
@pytest.mark.parametrize('cut', [0, 0.5])
def test_empty_or_truncated_checkpoint_names_the_file(tmp_path, cut):
    full = tmp_path / 'full.pth'
    torch.save({'state_dict': {'w': torch.arange(1000.0)}}, full)
    broken = tmp_path / 'broken.pth'
    data = full.read_bytes()
    broken.write_bytes(data[:int(len(data) * cut)])
    with checkpoint_keys({str(broken): '--resume'}), \
            pytest.raises(CheckpointReadError) as err:
        CheckpointLoader.load_checkpoint(str(broken), 'cpu')
    assert f'`--resume` {broken}' in str(err.value)


@pytest.mark.bad_input
def test_missing_file_stays_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        CheckpointLoader.load_checkpoint(str(tmp_path / 'none.pth'), 'cpu')


@pytest.mark.fault
def test_local_writes_replace_the_target_only_when_complete(tmp_path, monkeypatch):
    """A failed write (disk full, here injected at fsync) leaves the previous file and no
    temporary file; the error names the target."""
    target = tmp_path / 'epoch_1.pth'
    backend = get_file_backend(str(target))  # what the runner's checkpoint saving gets
    assert isinstance(backend, AtomicLocalBackend)
    backend.put(b'previous', target)
    backend.put_text('last', tmp_path / 'last_checkpoint')

    def disk_full(fd):
        raise OSError(errno.ENOSPC, 'No space left on device')

    monkeypatch.setattr(os, 'fsync', disk_full)
    with pytest.raises(OSError, match=f'cannot write {target}.*previous file'):
        backend.put(b'new and longer', target)
    with pytest.raises(OSError, match='last_checkpoint'):
        backend.put_text('new', tmp_path / 'last_checkpoint')
    assert target.read_bytes() == b'previous'
    assert (tmp_path / 'last_checkpoint').read_text() == 'last'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['epoch_1.pth', 'last_checkpoint']


@pytest.mark.bad_input
def test_other_runtime_errors_are_not_called_unreadable():
    """Only torch's reader errors become CheckpointReadError (a CUDA-saved file on a CPU
    machine, a hash mismatch keep their own message)."""
    def loader(filename, map_location):
        raise RuntimeError('Attempting to deserialize object on a CUDA device')

    with pytest.raises(RuntimeError, match='CUDA device') as err:
        safe_loader(loader)('x.pth', 'cpu')
    assert not isinstance(err.value, CheckpointReadError)


def test_writes_keep_the_file_mode(tmp_path):
    backend = get_file_backend(str(tmp_path / 'a.pth'))
    backend.put(b'new', tmp_path / 'a.pth')
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((tmp_path / 'a.pth').stat().st_mode) == 0o666 & ~umask
    os.chmod(tmp_path / 'a.pth', 0o640)
    backend.put(b'newer', tmp_path / 'a.pth')
    assert stat.S_IMODE((tmp_path / 'a.pth').stat().st_mode) == 0o640
