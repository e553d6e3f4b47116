"""EA-LS's selector and learner: masks per mode, cost of weighted levels, the held-out
score, the ask / tell cycle on a known optimum, and resume of the learner's state."""
import json

import pytest
import torch

from rlpkd.learners import EvolutionLearner, FitnessExperience
from rlpkd.models.selectors import EvolutionSelector, SelectionContext
from rlpkd.nas.evolution import genome_weights
from rlpkd.testing import build_distiller, det_batch

NAMES = ('l0', 'l1', 'l2', 'l3')
COSTS = (0.5, 0.3, 0.15, 0.05)
TARGET = torch.tensor([2.0, 0.0, 1.0, 0.5])  # the weights of the lowest synthetic loss


def context(batch: int = 3) -> SelectionContext:
    return SelectionContext([torch.zeros(batch, 1, 2, 2)], None, NAMES)


def test_masks_per_mode_and_cost_of_the_distilled_levels():
    selector = EvolutionSelector.for_levels(NAMES, COSTS)
    selector.set_candidate([2.0, 0.0, 0.5, 1.0])
    selector.set_best([0.0, 1.0, 0.0, 0.0])
    selector.set_mode('search')
    out = selector(context())
    assert out.mask.tolist() == [[2.0, 0.0, 0.5, 1.0]] * 3
    assert out.info['used_cost'].tolist() == pytest.approx([0.7] * 3)  # weight 2: cost once
    selector.set_mode('uniform')
    assert selector(context()).mask.tolist() == [[1.0] * 4] * 3
    selector.eval()  # evaluation: the fittest weights
    assert selector(context()).mask.tolist() == [[0.0, 1.0, 0.0, 0.0]] * 3
    result = selector.search_result()
    assert result['levels'] == ['l1'] and result['level_weights'] == dict(l1=1.0)
    assert result['cost'] == pytest.approx(0.3)


@pytest.mark.bad_input
def test_bad_choices_fail_naming_the_key():
    with pytest.raises(ValueError, match='model.selector.choices'):
        EvolutionSelector.for_levels(NAMES, COSTS, choices=[(0, 1)] * 3)
    with pytest.raises(ValueError, match='model.selector.choices'):
        EvolutionSelector.for_levels(NAMES, COSTS, choices=(1.0, 1.0))


def test_held_out_score_is_seeded_and_leaves_the_global_rng_alone():
    torch.manual_seed(0)
    distiller = build_distiller(selector=dict(type='EvolutionSelector'))
    selector = distiller.selector
    assert selector.collect_experience() is None  # nothing recorded
    big, small = (det_batch(distiller, num_images=n, size=(64, 64), seed=s)
                  for n, s in ((2, 1), (1, 2)))
    losses = []
    for batch in (big, small):
        state = torch.get_rng_state()
        selector.record_validation(batch['inputs'], batch['data_samples'])
        assert torch.equal(torch.get_rng_state(), state)
        experience = selector.collect_experience()
        losses.append(float(experience.val_loss))
    selector.record_validation(big['inputs'], big['data_samples'])
    selector.record_validation(small['inputs'], small['data_samples'])
    both = selector.collect_experience()
    assert float(both.val_loss) == pytest.approx((2 * losses[0] + losses[1]) / 3, rel=1e-6)
    assert both.weights.tolist() == [[1.0] * 4] and float(both.cost) == pytest.approx(1.0)


def synthetic_cycle(learner: EvolutionLearner) -> dict:
    """Score the selector's candidate by ``‖w − TARGET‖²`` and update the learner."""
    selector = learner.selector
    weights = selector.learnable().weights.detach().clone()
    learner.add(FitnessExperience(weights=weights[None],
                                  val_loss=(weights - TARGET).pow(2).sum().reshape(1),
                                  cost=selector.cost(weights).reshape(1)))
    return learner.update()


def test_learner_finds_the_known_optimum_and_keeps_the_selector_in_step():
    selector = EvolutionSelector.for_levels(NAMES, COSTS)
    learner = EvolutionLearner(selector, population_size=10, sample_size=4, seed=0)
    for _ in range(200):
        stats = synthetic_cycle(learner)
        genome = learner.proposal.genome
        assert selector.learnable().weights.tolist() == \
            genome_weights(genome, learner.evolution.choices)
        history = learner.evolution.history
        assert list(learner.evolution.population) == list(range(len(history)))[-10:]
    assert stats['ea/evaluated'] == 200
    assert selector.best.tolist() == TARGET.tolist()
    assert stats['ea/best_fitness'] == 0.0
    initial, final = learner.evolution.history[:10], learner.evolution.members()
    assert sum(m.fitness for m in final) > sum(m.fitness for m in initial) + 5  # mean +0.5


def test_cost_weight_prices_the_distilled_levels():
    selector = EvolutionSelector.for_levels(NAMES, COSTS)
    learner = EvolutionLearner(selector, population_size=2, sample_size=1, cost_weight=2.0)
    weights = selector.learnable().weights.detach().clone()
    stats = synthetic_cycle(learner)
    expected = -float((weights - TARGET).pow(2).sum()) - 2.0 * float(selector.cost(weights))
    assert stats['ea/fitness'] == pytest.approx(expected)


def test_learner_state_resumes_the_search_exactly():
    def make(seed):
        selector = EvolutionSelector.for_levels(NAMES, COSTS)
        return EvolutionLearner(selector, population_size=4, sample_size=2, seed=seed)

    a = make(0)
    for _ in range(7):
        synthetic_cycle(a)
    state = json.loads(json.dumps(a.state_dict()))  # JSON-ready (no pending records)
    b = make(123)
    b.load_state_dict(state)
    assert b.selector.learnable().weights.tolist() == a.selector.learnable().weights.tolist()
    assert b.selector.best.tolist() == a.selector.best.tolist()
    for _ in range(10):
        assert synthetic_cycle(a) == synthetic_cycle(b)
    assert a.search_summary() == b.search_summary()


def test_one_candidate_per_update():
    selector = EvolutionSelector.for_levels(NAMES, COSTS)
    learner = EvolutionLearner(selector, population_size=2, sample_size=1)
    record = FitnessExperience(weights=torch.ones(1, 4), val_loss=torch.ones(1),
                               cost=torch.ones(1))
    learner.add(record)
    learner.add(record)
    with pytest.raises(RuntimeError, match='update_interval must be 1'):
        learner.update()
