"""FixedSelector reading a search's result (model.selector.levels_from): the levels it
keeps, EA-LS's level weights, and the build errors that name the config key."""
import json

import pytest

from rlpkd.models.selectors import FixedSelector
from rlpkd.testing import build_distiller


def write(tmp_path, content) -> str:
    path = tmp_path / 'search_result.json'
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def test_levels_from_a_search_result_are_the_kept_levels(tmp_path):
    path = write(tmp_path, dict(method='DARTS-LS', levels=['P3', 'P5'], cost=0.2))
    distiller = build_distiller(selector=dict(type='FixedSelector', levels_from=path))
    assert distiller.selector.keep.tolist() == [0.0, 1.0, 0.0, 1.0]


def test_level_weights_of_an_evolution_result_weight_the_kept_levels(tmp_path):
    path = write(tmp_path, dict(method='EA-LS', levels=['P2', 'P4'],
                                level_weights=dict(P2=0.5, P4=2.0)))
    distiller = build_distiller(selector=dict(type='FixedSelector', levels_from=path))
    assert distiller.selector.keep.tolist() == [0.5, 0.0, 2.0, 0.0]


def test_a_search_that_kept_no_level_retrains_without_distillation(tmp_path):
    path = write(tmp_path, dict(method='EA-LS', levels=[], level_weights={}, cost=0.0))
    distiller = build_distiller(selector=dict(type='FixedSelector', levels_from=path))
    assert distiller.selector.keep.tolist() == [0.0, 0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match='non-empty list'):  # written by hand: a mistake
        FixedSelector(levels=[])


@pytest.mark.bad_input
@pytest.mark.parametrize('content,error,message', [
    (None, FileNotFoundError, 'no such file'),
    ('{"levels": ', ValueError, 'not a JSON file'),
    (dict(method='DARTS-LS', cost=0.2), ValueError, 'no `levels` list'),
    (dict(levels='P2'), ValueError, 'no `levels` list'),
    (dict(levels=['P2'], level_weights=dict(P3=1.0)), ValueError, '`level_weights`'),
])
def test_a_bad_result_file_fails_naming_the_key(tmp_path, content, error, message):
    path = str(tmp_path / 'missing.json') if content is None else write(tmp_path, content)
    with pytest.raises(error, match=message) as info:
        FixedSelector(levels_from=path)
    assert 'model.selector.levels_from' in str(info.value) and path in str(info.value)


@pytest.mark.bad_input
def test_unknown_level_names_fail_at_build_naming_the_key(tmp_path):
    path = write(tmp_path, dict(levels=['P3', 'P7']))
    with pytest.raises(KeyError, match=r'model\.selector\.levels_from.*P7'):
        build_distiller(selector=dict(type='FixedSelector', levels_from=path))


def test_exactly_one_of_levels_and_levels_from(tmp_path):
    path = write(tmp_path, dict(levels=['P3']))
    for kwargs in (dict(), dict(levels=['P3'], levels_from=path)):
        with pytest.raises(ValueError, match='exactly one of `levels`'):
            FixedSelector(**kwargs)
