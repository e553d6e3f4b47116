"""The teacher check: a teacher not clearly stronger than its student alone (above the
students' mean + 2 std over seeds) is refused with its numbers, unless allowed."""
from __future__ import annotations

import pytest

from rlpkd.benchmarking.teacher import TeacherStrength, WeakTeacherError, check_teacher


def test_clear_means_above_two_standard_deviations():
    students = (60.0, 62.0, 64.0)  # mean 62, sample std 2
    assert TeacherStrength('top1', 66.5, students).clear
    assert not TeacherStrength('top1', 66.0, students).clear
    assert not TeacherStrength('top1', 59.0, students).clear
    one = TeacherStrength('top1', 60.1, (60.0, ))  # one seed: above it at all
    assert one.clear and one.std == 0.0
    check_teacher(TeacherStrength('top1', 66.5, students))  # passes


@pytest.mark.bad_input
def test_weak_teacher_is_refused_naming_the_numbers():
    weak = TeacherStrength('accuracy/top1', 66.67, (64.0, 62.0, 66.0))
    with pytest.raises(WeakTeacherError) as err:
        check_teacher(weak)
    text = str(err.value)
    assert 'accuracy/top1 66.670' in text and '64.000 ± 2.000 (3 seeds)' in text
    assert 'NOT clearly stronger' in text and '--allow-weak-teacher' in text
    check_teacher(weak, allow_weak=True)  # allowed: no error


@pytest.mark.bad_input
def test_no_student_score_is_refused():
    with pytest.raises(WeakTeacherError, match='every student-alone run failed'):
        check_teacher(TeacherStrength('mIoU', 50.0, ()))
