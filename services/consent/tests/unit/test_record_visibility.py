"""Who sees consent records and disclosure entries: every cell of the table in
docs/consent-rules.md, and the invariants over random involvements."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oneplan_consent.domain.record_visibility import (
    FAMILY_KINDS,
    PRACTITIONER_ROLES,
    SAFEGUARDING_LEAD,
    ChildAccess,
    Entry,
    Involvement,
    OverrideParties,
    RecordKind,
    child_access,
    may_see,
)
from oneplan_kit import Principal

DOCS = Path(__file__).parents[4] / "docs" / "consent-rules.md"
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
CHILD = uuid4()
OTHER_CHILD = uuid4()
OVERRIDE = uuid4()  # the override the entries of the table are about
UNKNOWN = uuid4()  # an override the consent service does not know


# -- the readers (rows) --------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """A reader, and the child's involvement that puts it where the row says: OVERRIDE's
    recorder and recipients, the parties to consents and duties, the owners of disclosed
    records."""

    reader: Principal
    recorder: str = "social_care"
    recipients: frozenset[str] = frozenset({"school"})
    sharing: frozenset[str] = frozenset({"school"})
    recorders: frozenset[str] = frozenset({"school"})

    def involvement(self, hide: bool, ends_at: datetime, ended: bool) -> Involvement:
        override = OverrideParties(self.recipients, self.recorder, hide, ends_at, ended)
        return Involvement(CHILD, self.sharing, self.recorders, {OVERRIDE: override})


def practitioner(agency: str, *roles: str) -> Principal:
    return Principal(sub=f"{agency}-1", agency=agency, roles=frozenset(roles or ("caseworker",)))


def family(*children: UUID) -> Principal:
    return Principal(sub=str(uuid4()), agency="family", children=frozenset(children))


EVERYWHERE = frozenset({"health", "school"})
ROWS: dict[str, Row] = {
    "family token listing the child": Row(family(CHILD, OTHER_CHILD)),
    "family token not listing the child": Row(family(OTHER_CHILD)),
    # health is party to everything here: without a known practitioner role it still sees nothing
    "no known practitioner role": Row(
        practitioner("health", "viewer", "Caseworker"), "health", EVERYWHERE, EVERYWHERE, EVERYWHERE
    ),
    # social care has no part in this child: the safeguarding lead needs none
    "the safeguarding lead": Row(practitioner("social_care", SAFEGUARDING_LEAD), "health"),
    "the SEND team, not party to the override": Row(practitioner("send")),
    "the SEND team, party to the override": Row(
        practitioner("send", "manager"), recipients=frozenset({"send", "health"})
    ),
    "another agency with a part, party to the override": Row(
        practitioner("health"), recipients=frozenset({"health"})
    ),
    "another agency with a part, not party to the override": Row(
        practitioner("health", "practitioner"), sharing=frozenset({"health", "send"})
    ),
    "another agency with no part in the child": Row(practitioner("transport")),
}


# -- the entries (columns), each with every state of OVERRIDE that the column covers ---------


@dataclass(frozen=True)
class State:
    name: str
    hide: bool
    ends_at: datetime
    ended: bool = False


HIDING = (
    State("hides", True, NOW + timedelta(days=30)),
    State("hides for one more second", True, NOW + timedelta(seconds=1)),
)
NOT_HIDING = (
    State("never hid", False, NOW + timedelta(days=30)),
    State("ended early", True, NOW + timedelta(days=30), ended=True),
    State("at its end", True, NOW),
    State("past its end", True, NOW - timedelta(days=1)),
)
ANY = (HIDING[0], NOT_HIDING[0])


@dataclass(frozen=True)
class Column:
    entries: tuple[Callable[[], Entry], ...]
    states: tuple[State, ...]


def disclosure(basis: str, reference: UUID | None) -> Callable[[], Entry]:
    return lambda: Entry.disclosure(basis, reference)


COLUMNS: dict[str, Column] = {
    "consent": Column((Entry.consent,), ANY),
    "duty": Column((Entry.duty,), ANY),
    "refusal": Column((Entry.refusal,), ANY),
    "override": Column((lambda: Entry.override(OVERRIDE),), NOT_HIDING),
    "hiding override": Column((lambda: Entry.override(OVERRIDE),), HIDING),
    "disclosure": Column(
        (
            disclosure("own_data", None),
            disclosure("consent", uuid4()),
            disclosure("statutory_duty", uuid4()),
        ),
        ANY,
    ),
    "under an override": Column((disclosure("override", OVERRIDE),), NOT_HIDING),
    "under a hiding override": Column((disclosure("override", OVERRIDE),), HIDING),
    "under an unknown override": Column(
        (disclosure("override", UNKNOWN), disclosure("override", None)), ANY
    ),
}

# -- the table (docs/consent-rules.md has the same one) --------------------------------------

_S, _L, _F, _N = "shown", "left out", "403", "404"
TABLE: dict[str, tuple[str, ...]] = {
    "family token listing the child": (_S, _F, _F, _F, _F, _S, _S, _L, _L),
    "family token not listing the child": (_N,) * 9,
    "no known practitioner role": (_F,) * 9,
    "the safeguarding lead": (_S,) * 9,
    "the SEND team, not party to the override": (_S, _S, _S, _S, _L, _S, _S, _L, _L),
    "the SEND team, party to the override": (_S,) * 8 + (_L,),
    "another agency with a part, party to the override": (_S,) * 8 + (_L,),
    "another agency with a part, not party to the override": (_S, _S, _S, _S, _L, _S, _S, _L, _L),
    "another agency with no part in the child": (_F,) * 9,
}
ACCESS = {
    _S: ChildAccess.LIST,
    _L: ChildAccess.LIST,
    _F: ChildAccess.FORBIDDEN,
    _N: ChildAccess.NOT_FOUND,
}


def cells() -> list[object]:
    params: list[object] = []
    for row, expected in TABLE.items():
        for (column, spec), cell in zip(COLUMNS.items(), expected, strict=True):
            for i, entry in enumerate(spec.entries):
                for state in spec.states:
                    ident = f"{row} | {column} #{i} | {state.name} -> {cell}"
                    params.append(pytest.param(row, entry, state, cell, id=ident))
    return params


@pytest.mark.parametrize(("row", "entry", "state", "cell"), cells())
def test_every_cell(row: str, entry: Callable[[], Entry], state: State, cell: str) -> None:
    spec = ROWS[row]
    involvement = spec.involvement(state.hide, state.ends_at, state.ended)
    made = entry()
    assert child_access(spec.reader, involvement, made.kind) is ACCESS[cell]
    assert may_see(spec.reader, involvement, made, NOW) is (cell == _S)


def test_the_documented_table_is_the_tested_one() -> None:
    text = DOCS.read_text()
    section = text.split("## Who sees consent records and disclosure entries", 1)[1]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert header == ["reader", *COLUMNS]
    documented = {}
    for line in lines[2:]:
        row, *values = (cell.strip() for cell in line.strip("|").split("|"))
        documented[row] = tuple(values)
    assert documented == TABLE
    assert set(TABLE) == set(ROWS)


# -- the definitions behind the rows ---------------------------------------------------------


@pytest.mark.parametrize("role", sorted(PRACTITIONER_ROLES))
def test_any_known_practitioner_role_makes_the_send_team(role: str) -> None:
    involvement = Involvement(CHILD)
    assert child_access(practitioner("send", role), involvement, RecordKind.DUTY) is (
        ChildAccess.LIST
    )


@pytest.mark.parametrize("roles", [(), ("Admin",), ("viewer", "auditor")])
def test_without_a_known_practitioner_role_even_the_send_team_sees_nothing(
    roles: tuple[str, ...],
) -> None:
    reader = Principal(sub="s", agency="send", roles=frozenset(roles))
    for kind in RecordKind:
        assert child_access(reader, Involvement(CHILD), kind) is ChildAccess.FORBIDDEN


@pytest.mark.parametrize("agency", ["send", "health", "school", "transport"])
def test_another_agencys_safeguarding_lead_is_not_the_safeguarding_lead(agency: str) -> None:
    hiding = OverrideParties(frozenset({"social_care"}), "social_care", True, NOW + timedelta(1))
    involvement = Involvement(CHILD, recorders=frozenset({agency}), overrides={OVERRIDE: hiding})
    lead = practitioner(agency, SAFEGUARDING_LEAD)
    assert child_access(lead, involvement, RecordKind.CONSENT) is ChildAccess.LIST
    assert not may_see(lead, involvement, Entry.disclosure("override", OVERRIDE), NOW)
    assert may_see(
        practitioner("social_care", SAFEGUARDING_LEAD), involvement, Entry.override(OVERRIDE), NOW
    )


@pytest.mark.parametrize("agency", ["health", "school", "transport"])
def test_another_agencys_safeguarding_lead_needs_a_part(agency: str) -> None:
    lead = practitioner(agency, SAFEGUARDING_LEAD)
    assert child_access(lead, Involvement(CHILD), RecordKind.OVERRIDE) is ChildAccess.FORBIDDEN


def test_another_agencys_safeguarding_lead_sees_the_hidden_override_it_recorded() -> None:
    recorded = OverrideParties(frozenset({"social_care"}), "school", True, NOW + timedelta(days=1))
    involvement = Involvement(CHILD, overrides={OVERRIDE: recorded})
    lead = practitioner("school", SAFEGUARDING_LEAD)
    assert may_see(lead, involvement, Entry.override(OVERRIDE), NOW)
    assert may_see(lead, involvement, Entry.disclosure("override", OVERRIDE), NOW)


_END = NOW + timedelta(days=1)
PARTS: dict[str, Involvement] = {
    "owner or recipient of a consent or duty": Involvement(
        CHILD, sharing_parties=frozenset({"transport"})
    ),
    "owner of a disclosed record": Involvement(CHILD, recorders=frozenset({"transport"})),
    "recipient of an override": Involvement(
        CHILD, overrides={OVERRIDE: OverrideParties(frozenset({"transport"}), "health", True, _END)}
    ),
    "recorder of an override": Involvement(
        CHILD, overrides={OVERRIDE: OverrideParties(frozenset({"health"}), "transport", True, _END)}
    ),
    "recipient of an override that ended": Involvement(
        CHILD,
        overrides={
            OVERRIDE: OverrideParties(frozenset({"transport"}), "health", False, _END, ended=True)
        },
    ),
}


@pytest.mark.parametrize("involvement", PARTS.values(), ids=PARTS.keys())
def test_each_way_of_having_a_part(involvement: Involvement) -> None:
    reader = practitioner("transport")
    assert involvement.has_part("transport")
    for kind in RecordKind:
        assert child_access(reader, involvement, kind) is ChildAccess.LIST
    assert may_see(reader, involvement, Entry.consent(), NOW)
    stranger = practitioner("educational_psychology")
    assert child_access(stranger, involvement, RecordKind.CONSENT) is ChildAccess.FORBIDDEN


def test_a_family_named_by_a_hiding_override_is_still_not_shown_it() -> None:
    named = OverrideParties(frozenset({"family", "health"}), "social_care", True, _END)
    involvement = Involvement(CHILD, overrides={OVERRIDE: named})
    reader = family(CHILD)
    assert not may_see(reader, involvement, Entry.disclosure("override", OVERRIDE), NOW)


def test_a_family_token_is_the_family_whatever_its_roles() -> None:
    reader = Principal(
        sub="m", agency="family", roles=frozenset({SAFEGUARDING_LEAD}), children=frozenset({CHILD})
    )
    assert child_access(reader, Involvement(CHILD), RecordKind.DUTY) is ChildAccess.FORBIDDEN


# -- the invariants, over random involvements ------------------------------------------------

AGENCIES = ("send", "health", "social_care", "transport")
# "family" is a known agency too, and may be named in consents and even overrides
PARTIES = (*AGENCIES, "family")
ROLE_SETS = tuple(
    frozenset(roles)
    for roles in (
        {"caseworker"},
        {SAFEGUARDING_LEAD},
        {"data_protection_officer", "viewer"},
        {"viewer"},
        set(),
    )
)
CHILDREN = tuple(frozenset(c) for c in ({CHILD}, {CHILD, OTHER_CHILD}, {OTHER_CHILD}, set()))
FIRST, SECOND = uuid4(), uuid4()  # the child has the first override, maybe the second
agency_sets = st.frozensets(st.sampled_from(PARTIES), max_size=3)


@st.composite
def override_parties(draw: st.DrawFn, hiding: bool = False) -> OverrideParties:
    """An override in any of the states of the table, or (`hiding`) one that hides now."""
    state = draw(st.sampled_from(HIDING if hiding else HIDING + NOT_HIDING))
    return OverrideParties(
        recipient_agencies=draw(st.frozensets(st.sampled_from(PARTIES), min_size=1, max_size=3)),
        recorded_by_agency=draw(st.sampled_from(PARTIES)),
        hide_from_family=state.hide,
        ends_at=state.ends_at,
        ended=state.ended,
    )


@st.composite
def involvements(draw: st.DrawFn, hiding: bool = False) -> Involvement:
    overrides = {FIRST: draw(override_parties(hiding))}
    if draw(st.booleans()):
        overrides[SECOND] = draw(override_parties(hiding))
    return Involvement(
        CHILD, sharing_parties=draw(agency_sets), recorders=draw(agency_sets), overrides=overrides
    )


@st.composite
def practitioners(draw: st.DrawFn, agencies: tuple[str, ...] = AGENCIES) -> Principal:
    agency = draw(st.sampled_from(agencies))
    return Principal(sub="p", agency=agency, roles=draw(st.sampled_from(ROLE_SETS)))


@st.composite
def families(draw: st.DrawFn) -> Principal:
    roles, children = draw(st.sampled_from(ROLE_SETS)), draw(st.sampled_from(CHILDREN))
    return Principal(sub="f", agency="family", roles=roles, children=children)


readers = st.one_of(practitioners(), families())
plain_entries = st.sampled_from((Entry.consent(), Entry.duty(), Entry.refusal()))
# mostly the override the involvement has, sometimes one it may not have, or cannot
references = st.sampled_from((FIRST, FIRST, FIRST, SECOND, UNKNOWN, None))
under_override = st.one_of(
    st.builds(Entry.override, references.filter(lambda ref: ref is not None)),
    st.builds(Entry.disclosure, st.just("override"), references),
)
entries = st.one_of(
    plain_entries,
    st.builds(
        Entry.disclosure, st.sampled_from(("own_data", "consent", "statutory_duty")), references
    ),
    under_override,
    under_override,
)


def hidden(entry: Entry, involvement: Involvement) -> bool:
    """Independently of the module: made under an override that hides, or an unknown one."""
    under = entry.kind is RecordKind.OVERRIDE or (
        entry.kind is RecordKind.DISCLOSURE and entry.basis == "override"
    )
    if not under:
        return False
    override = involvement.overrides.get(entry.reference_id) if entry.reference_id else None
    return override is None or (
        override.hide_from_family and not override.ended and override.ends_at > NOW
    )


def parties_of(entry: Entry, involvement: Involvement) -> set[str]:
    override = involvement.overrides.get(entry.reference_id) if entry.reference_id else None
    return (
        set() if override is None else {*override.recipient_agencies, override.recorded_by_agency}
    )


def with_a_part(involvement: Involvement) -> set[str]:
    agencies = {*involvement.sharing_parties, *involvement.recorders}
    for override in involvement.overrides.values():
        agencies |= {*override.recipient_agencies, override.recorded_by_agency}
    return agencies


def known_role(reader: Principal) -> bool:
    return not reader.is_family and bool(reader.roles & set(PRACTITIONER_ROLES))


def lead(reader: Principal) -> bool:
    return (
        known_role(reader) and SAFEGUARDING_LEAD in reader.roles and reader.agency == "social_care"
    )


def send_team(reader: Principal) -> bool:
    return known_role(reader) and reader.agency == "send"


@settings(max_examples=300, deadline=None)
@given(readers, involvements(), entries)
def test_a_reader_without_a_part_sees_nothing_but_the_familys_own_view(
    reader: Principal, involvement: Involvement, entry: Entry
) -> None:
    access_ = child_access(reader, involvement, entry.kind)
    seen = may_see(reader, involvement, entry, NOW)
    if seen:
        assert access_ is ChildAccess.LIST
    if reader.is_family:
        own_view = CHILD in reader.children and entry.kind in FAMILY_KINDS
        assert seen == (own_view and not hidden(entry, involvement))
    elif not known_role(reader) or not (
        lead(reader) or send_team(reader) or reader.agency in with_a_part(involvement)
    ):
        assert access_ is ChildAccess.FORBIDDEN
        assert not seen


@settings(max_examples=300, deadline=None)
@given(readers, involvements(hiding=True), under_override)
def test_hidden_entries_only_to_the_lead_and_the_overrides_parties(
    reader: Principal, involvement: Involvement, entry: Entry
) -> None:
    assert hidden(entry, involvement)
    seen = may_see(reader, involvement, entry, NOW)
    if reader.is_family:
        assert not seen
    elif lead(reader):
        assert seen
    else:
        assert seen == (known_role(reader) and reader.agency in parties_of(entry, involvement))


@settings(max_examples=300, deadline=None)
@given(practitioners(agencies=("send", "social_care")), involvements(), entries)
def test_the_send_team_and_the_safeguarding_lead_see_every_entry(
    reader: Principal, involvement: Involvement, entry: Entry
) -> None:
    seen = may_see(reader, involvement, entry, NOW)
    if lead(reader):
        assert seen
    if send_team(reader):
        for kind in RecordKind:
            assert child_access(reader, involvement, kind) is ChildAccess.LIST
        # every entry but those hidden under an override the SEND team is not party to
        assert seen == (not hidden(entry, involvement) or "send" in parties_of(entry, involvement))


@settings(max_examples=300, deadline=None)
@given(practitioners(), involvements(), entries)
def test_a_practitioner_is_shown_exactly_what_the_rule_says(
    reader: Principal, involvement: Involvement, entry: Entry
) -> None:
    may_list = known_role(reader) and (
        lead(reader) or send_team(reader) or reader.agency in with_a_part(involvement)
    )
    assert (child_access(reader, involvement, entry.kind) is ChildAccess.LIST) == may_list
    party = reader.agency in parties_of(entry, involvement)
    expected = may_list and (not hidden(entry, involvement) or lead(reader) or party)
    assert may_see(reader, involvement, entry, NOW) == expected
