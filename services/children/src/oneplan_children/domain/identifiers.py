"""National identifiers: NHS number and Unique Pupil Number (UPN), and synthetic generators.

Both validators are pure. The generators only ever produce numbers that cannot belong to a real
person: NHS numbers from the range NHS Digital reserves for testing (999 000 0000 - 999 999 9999)
and UPNs whose serial part is allocated from a test-only block.
"""

from __future__ import annotations

import random
import re

__all__ = [
    "NHS_NUMBER_INPUT_PATTERN",
    "NHS_NUMBER_PATTERN",
    "SYNTHETIC_NHS_PREFIX",
    "UPN_INPUT_PATTERN",
    "UPN_PATTERN",
    "InvalidIdentifier",
    "nhs_check_digit",
    "normalise_nhs_number",
    "normalise_upn",
    "synthetic_nhs_number",
    "synthetic_upn",
    "upn_check_letter",
]

SYNTHETIC_NHS_PREFIX = "999"
"""NHS numbers beginning 999 are reserved for testing and never issued to a patient."""

# The DfE check-letter alphabet: A-Z without I, O and S (23 letters, so the mod-23 remainder
# indexes it directly). A temporary UPN's final letter takes its value from the same alphabet.
_UPN_ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ"

# The shapes, as the OpenAPI documents show them (`pattern`) and the validators check them; the
# check digit and check letter are verified beyond the shape, with their own message.
NHS_NUMBER_PATTERN = r"^[0-9]{10}$"
"""An NHS number as recorded, returned and published: ten digits."""
NHS_NUMBER_INPUT_PATTERN = r"^ *[0-9]{3}[ -]?[0-9]{3}[ -]?[0-9]{4} *$"
"""An NHS number as typed: ten digits, optionally grouped 3 3 4 by a space or a hyphen."""
UPN_PATTERN = r"^[A-HJ-NP-RT-Z][0-9]{11}[0-9A-HJ-NP-RT-Z]$"
"""A UPN as recorded, returned and published: the check letter, the three-digit LA number,
the four-digit establishment number, the two-digit year of allocation and a three-character
serial whose last character is a digit (permanent) or a letter (temporary); no I, O or S."""
UPN_INPUT_PATTERN = r"^ *[A-HJ-NP-RT-Za-hj-np-rt-z][0-9]{11}[0-9A-HJ-NP-RT-Za-hj-np-rt-z] *$"
"""A UPN as typed: as recorded, in either case."""

# fullmatch, not match: Python's "$" also matches before a final newline, JSON Schema's does not.
_NHS_INPUT = re.compile(NHS_NUMBER_INPUT_PATTERN)
_UPN_INPUT = re.compile(UPN_INPUT_PATTERN)

# Plausible English local-authority codes (the DfE's three-digit LA numbers run 201-938).
_LA_CODES = (201, 302, 330, 373, 800, 810, 855, 885, 937, 938)


class InvalidIdentifier(ValueError):
    """An identifier failed its format or check-character rule; the message says which."""


def nhs_check_digit(first_nine: str) -> int | None:
    """Modulus-11 check digit for the first nine digits, or None when no digit is valid (10)."""
    weights = range(10, 1, -1)
    total = sum(int(digit) * weight for digit, weight in zip(first_nine, weights, strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def normalise_nhs_number(value: str) -> str:
    """Return the ten-digit NHS number (spaces and hyphens removed) or raise InvalidIdentifier.

    Accepted: :data:`NHS_NUMBER_INPUT_PATTERN` with a right modulus-11 check digit.
    """
    if not _NHS_INPUT.fullmatch(value):
        raise InvalidIdentifier(
            "an NHS number is ten digits (optionally grouped 3 3 4 by spaces or hyphens)"
        )
    digits = re.sub(r"[ -]", "", value)
    check = nhs_check_digit(digits[:9])
    if check is None or check != int(digits[9]):
        raise InvalidIdentifier("the NHS number's check digit is wrong")
    return digits


def _upn_value(character: str) -> int:
    return int(character) if character.isdigit() else _UPN_ALPHABET.index(character)


def upn_check_letter(last_twelve: str) -> str:
    """DfE check letter: characters 2-13 weighted 2..13, summed, mod 23, mapped to the alphabet."""
    weighted = zip(last_twelve, range(2, 14), strict=True)
    total = sum(_upn_value(character) * weight for character, weight in weighted)
    return _UPN_ALPHABET[total % 23]


def normalise_upn(value: str) -> str:
    """Return the 13-character UPN in upper case or raise InvalidIdentifier.

    A permanent UPN ends in a digit, a temporary one in a letter; both carry the check letter.
    """
    if not _UPN_INPUT.fullmatch(value):
        raise InvalidIdentifier(
            "a UPN is a check letter, eleven digits and a final digit or letter (not I, O or S)"
        )
    upn = value.strip(" ").upper()
    if upn_check_letter(upn[1:]) != upn[0]:
        raise InvalidIdentifier("the UPN's check letter is wrong")
    return upn


def synthetic_nhs_number(rng: random.Random) -> str:
    """A valid NHS number from the range reserved for testing."""
    while True:
        first_nine = SYNTHETIC_NHS_PREFIX + f"{rng.randrange(1_000_000):06d}"
        check = nhs_check_digit(first_nine)
        if check is not None:
            return first_nine + str(check)


def synthetic_upn(rng: random.Random, *, temporary: bool = False) -> str:
    """A valid-format UPN: plausible LA code, establishment, allocation year and serial.

    The establishment number 9999 is never allocated to a school, so the result cannot be a real
    pupil's UPN.
    """
    la_code = rng.choice(_LA_CODES)
    year = rng.randrange(10, 30)
    if temporary:
        tail = f"{rng.randrange(100):02d}" + rng.choice(_UPN_ALPHABET)
    else:
        tail = f"{rng.randrange(1000):03d}"
    body = f"{la_code:03d}9999{year:02d}{tail}"
    return upn_check_letter(body) + body
