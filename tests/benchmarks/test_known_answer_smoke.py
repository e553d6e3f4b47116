"""benchmarks/known_answer.py end to end at the smallest size (the session fixture
``known_answer_work``): its benchmark-only parts reach the runner through
``custom_imports`` of ``rlpkd.benchmarking.parts`` (no PYTHONPATH), the runs go through
the real tools, and the result files are written."""
from __future__ import annotations

import json

from benchmark_smoke import run


def test_known_answer_benchmark_writes_its_results(known_answer_work):
    out = known_answer_work / 'known_answer'
    records = json.loads(out.with_suffix('.json').read_text())
    assert [r['method'] for r in records] == ['uniform KD', 'group oracle',
                                              'RL-PyramidKD, gap reward']
    rl = records[2]
    assert 0.0 <= rl['match'] <= 1.0 and 'coco/bbox_mAP' in rl['metrics']
    run = known_answer_work / 'noise' / 'group_oracle' / 'seed_0'
    assert 'rlpkd.benchmarking.parts' in (run / 'config.py').read_text()
    assert (run / 'result.json').is_file()  # a finished run, reused by a second call
    text = out.with_suffix('.md').read_text()
    assert '| group oracle |' in text
    assert 'mAP on the val images' in text  # the teacher's own mAP, tested
    assert '| RL-PyramidKD, gap reward | 1 |' in text  # paired with the oracle by seed


def test_all_but_one_layout_runs_and_scores_against_each_images_answer(known_answer_work):
    """``--layout all_but_one``: the runs get their own folder and the layout, and a
    learned run that keeps every level matches no image (every answer keeps one level)."""
    out = known_answer_work / 'known_answer_all_but_one'
    run('known_answer', '--seeds', '0', '--epochs', '3', '--num-train', '8', '--num-val',
        '4', '--layout', 'all_but_one', '--methods', 'uniform KD on the RL schedule',
        '--work-dir', known_answer_work, '--out', out)
    record, = json.loads(out.with_suffix('.json').read_text())
    decisions = (known_answer_work / 'noise_all_but_one' / record['key'] / 'seed_0' /
                 'decisions.jsonl').read_text().splitlines()
    assert all(json.loads(d)['levels'] == [1.0] * 4 for d in decisions)
    assert record['match'] == 0.0 and record['kept_right'] == record['kept_wrong'] == 1.0
    config = (known_answer_work / 'noise_all_but_one' / record['key'] / 'seed_0' /
              'config.py').read_text()
    assert "layout='all_but_one'" in config
    text = out.with_suffix('.md').read_text()
    assert 'every teacher level but one = noise on every image' in text
    assert '--layout all_but_one' in text
