"""The settings directory: the DfE establishment-data shape, section I checked against it."""

from __future__ import annotations

import pytest

from oneplan_plans.config import load_directory
from oneplan_plans.domain.errors import RulesBroken
from oneplan_plans.domain.settings_directory import parse_directory
from oneplan_plans.events import Setting, SettingType

HEADER = "URN,EstablishmentName,TypeOfEstablishment (name),PhaseOfEducation (name),LA (name)\n"


def test_types_come_from_the_dfe_type_unless_oneplan_says_otherwise() -> None:
    directory = parse_directory(
        HEADER.replace("\n", ",OnePlanSettingType,ResourcedPlaces\n")
        + "200001,A School,Community school,Primary,Example,,\n"
        + "200002,A Special School,Foundation special school,All-through,Example,,\n"
        + "200003,A Base,Academy converter,Secondary,Example,resourced_provision,8\n"
    )
    assert [(e.urn, e.setting_type) for e in directory.entries()] == [
        ("200001", SettingType.MAINSTREAM),
        ("200002", SettingType.STATE_SPECIAL),
        ("200003", SettingType.RESOURCED_PROVISION),
    ]
    base = directory.get("200003")
    assert base is not None
    assert base.resourced_places == 8


@pytest.mark.parametrize(
    ("line", "fault"),
    [
        ("12345,Short,Community school,Primary,Example\n", "6 digits"),
        ("200001,No type\n", "line 2"),
    ],
)
def test_a_broken_file_names_its_line(line: str, fault: str) -> None:
    with pytest.raises(ValueError, match=fault):
        parse_directory(HEADER + line)


def test_section_i_names_a_known_setting_of_its_type() -> None:
    directory = load_directory(None)
    checked = directory.check(Setting(name="Example Special School", urn="100005"))
    assert checked.type is SettingType.STATE_SPECIAL
    with pytest.raises(RulesBroken, match=r"setting\.urn"):
        directory.check(Setting(name="Nowhere", urn="999999"))
    with pytest.raises(RulesBroken, match=r"setting\.type"):
        directory.check(Setting(name="Example College", urn="100007", type=SettingType.MAINSTREAM))
    unlisted = Setting(name="A setting without a URN", type=SettingType.OTHER)
    assert directory.check(unlisted) == unlisted
