"""NHS number and UPN validators and the synthetic generators."""

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oneplan_children.domain.identifiers import (
    InvalidIdentifier,
    normalise_nhs_number,
    normalise_upn,
    synthetic_nhs_number,
    synthetic_upn,
    upn_check_letter,
)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("9434765919", "9434765919"),
        ("943 476 5919", "9434765919"),
        ("999-000-0018", "9990000018"),
        ("9990000026", "9990000026"),
    ],
)
def test_valid_nhs_numbers_are_normalised(given: str, expected: str) -> None:
    assert normalise_nhs_number(given) == expected


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("9434765918", "check digit"),  # one off the right check digit
        ("9990000010", "check digit"),
        ("9990000019", "check digit"),
        ("9990000100", "check digit"),  # remainder gives 10: no number with this stem is valid
        ("943476591", "ten digits"),
        ("94347659190", "ten digits"),
        ("94347A5919", "ten digits"),
        ("", "ten digits"),
    ],
)
def test_invalid_nhs_numbers_are_refused_with_the_reason(given: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier, match=reason):
        normalise_nhs_number(given)


@pytest.mark.parametrize("given", ["B801200005001", "b801200005001", " B801200005001 "])
def test_valid_permanent_upn(given: str) -> None:
    assert normalise_upn(given) == "B801200005001"


def test_temporary_upn_ends_in_a_letter_that_counts_towards_the_check() -> None:
    body = "80120000501A"
    upn = upn_check_letter(body) + body
    assert normalise_upn(upn) == upn
    other = "80120000501B"
    assert upn_check_letter(other) != upn[0]


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("A801200005001", "check letter is wrong"),
        ("C801200005001", "check letter is wrong"),
        ("I801200005001", "check letter"),  # I is never a check letter
        ("B80120000500", "check letter, eleven digits"),
        ("B80120000A001", "check letter, eleven digits"),
        ("B80120000500O", "check letter, eleven digits"),  # O is not in the alphabet
        ("8801200005001", "check letter, eleven digits"),
    ],
)
def test_invalid_upns_are_refused(given: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier, match=reason):
        normalise_upn(given)


def test_synthetic_nhs_numbers_are_valid_and_in_the_test_range() -> None:
    rng = random.Random(7)
    for _ in range(500):
        number = synthetic_nhs_number(rng)
        assert number.startswith("999")
        assert normalise_nhs_number(number) == number


def test_synthetic_upns_are_valid_permanent_and_temporary() -> None:
    rng = random.Random(7)
    for _ in range(200):
        permanent = synthetic_upn(rng)
        temporary = synthetic_upn(rng, temporary=True)
        assert normalise_upn(permanent) == permanent
        assert permanent[-1].isdigit()
        assert normalise_upn(temporary) == temporary
        assert temporary[-1].isalpha()
        assert 201 <= int(permanent[1:4]) <= 938


@given(seed=st.integers(0, 2**32), position=st.integers(0, 9), delta=st.integers(1, 9))
def test_every_single_digit_error_in_an_nhs_number_is_detected(
    seed: int, position: int, delta: int
) -> None:
    number = synthetic_nhs_number(random.Random(seed))
    wrong = (int(number[position]) + delta) % 10
    mistyped = number[:position] + str(wrong) + number[position + 1 :]
    with pytest.raises(InvalidIdentifier):
        normalise_nhs_number(mistyped)


@given(seed=st.integers(0, 2**32), position=st.integers(1, 11), delta=st.integers(1, 9))
def test_every_single_digit_error_in_a_upn_is_detected(
    seed: int, position: int, delta: int
) -> None:
    upn = synthetic_upn(random.Random(seed))
    wrong = (int(upn[position]) + delta) % 10
    mistyped = upn[:position] + str(wrong) + upn[position + 1 :]
    with pytest.raises(InvalidIdentifier):
        normalise_upn(mistyped)
