"""Regularised (aging) evolution: invariants, selection, progress, resume."""
import json
import random

import pytest

from rlpkd.nas.evolution import DEFAULT_CHOICES, RegularizedEvolution, genome_cost, genome_weights


def one_max(genome, noise: random.Random) -> float:
    return sum(genome) + noise.gauss(0.0, 0.5)


def cycle(search: RegularizedEvolution, noise: random.Random):
    proposal = search.propose()
    return proposal, search.report(proposal.genome, one_max(proposal.genome, noise))


def test_population_is_the_last_p_of_history_and_parent_is_the_sample_max():
    search = RegularizedEvolution([(0, 1)] * 10, population_size=8, sample_size=3, seed=0)
    noise = random.Random(1)
    for step in range(60):
        proposal, child = cycle(search, noise)
        assert list(search.population) == list(range(len(search.history)))[-8:]
        assert [m.born for m in search.members()] == list(search.population)
        if step < 8:
            assert proposal.parent is None  # initial random population
            continue
        assert len(proposal.sample) == 3 and set(proposal.sample) <= set(range(step - 8, step))
        fits = [search.history[i].fitness for i in proposal.sample]
        assert search.history[proposal.parent].fitness == max(fits)
        parent = search.history[proposal.parent].genome
        assert sum(a != b for a, b in zip(parent, child.genome)) == 1  # one mutation


def test_sample_is_drawn_with_replacement():
    search = RegularizedEvolution([(0, 1, 2)] * 2, population_size=2, sample_size=2, seed=0)
    noise = random.Random(0)
    repeats = 0
    for _ in range(40):
        proposal, _ = cycle(search, noise)
        repeats += proposal.sample is not None and proposal.sample[0] == proposal.sample[1]
    assert repeats > 0


def test_mean_fitness_rises_on_noisy_one_max():
    search = RegularizedEvolution([(0, 1)] * 12, population_size=10, sample_size=4, seed=2)
    noise = random.Random(3)
    for _ in range(10):
        cycle(search, noise)
    start = sum(m.fitness for m in search.members()) / 10
    for _ in range(150):
        cycle(search, noise)
    end = sum(m.fitness for m in search.members()) / 10
    assert end > start + 3
    assert sum(search.best().genome) >= 10


def test_resume_mid_search_continues_identically():
    def run(search, noise, cycles):
        for _ in range(cycles):
            cycle(search, noise)

    a = RegularizedEvolution([DEFAULT_CHOICES] * 4, population_size=6, sample_size=2, seed=5)
    noise = random.Random(7)
    run(a, noise, 15)
    state = json.loads(json.dumps(a.state_dict()))  # JSON-ready (checkpoint / file)
    noise_state = noise.getstate()
    run(a, noise, 20)
    b = RegularizedEvolution([DEFAULT_CHOICES] * 4, population_size=6, sample_size=2, seed=99)
    b.load_state_dict(state)
    noise.setstate(noise_state)
    run(b, noise, 20)
    assert b.state_dict() == a.state_dict()


def test_search_space_of_loss_weights():
    search = RegularizedEvolution([DEFAULT_CHOICES] * 4)
    assert search.space_size == 256 > 2 ** 4
    genome = (0, 1, 3, 2)
    assert genome_weights(genome, search.choices) == [0.0, 0.5, 2.0, 1.0]
    assert genome_cost(genome, search.choices, (0.75, 0.19, 0.05, 0.01)) == \
        pytest.approx(0.25)  # weight 0: the level is not distilled, costs nothing
    with pytest.raises(ValueError):
        RegularizedEvolution([DEFAULT_CHOICES] * 4, population_size=3, sample_size=4)
