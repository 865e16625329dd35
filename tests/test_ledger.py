"""The claims ledger: it parses, it covers every registered claim, and it names no claim that does
not exist; a malformed ledger is one clear error naming the entry."""

from __future__ import annotations

import copy

import pytest

from bnnrepro.errors import ConfigError
from bnnrepro.families.sources import references
from bnnrepro.families.sources.ledger import (
    Reason,
    claim_entries,
    coverage_problems,
    entries,
    parse,
    registered_claims,
    tally,
    unchecked,
)

GOOD = {
    "entries": [
        {"id": "a-checked", "source": "mehta2017", "place": "Sec. 3", "quote": "memorize", "claims": ["c1"]},
        {
            "id": "b-unchecked",
            "source": "zhang2017",
            "cited_in": "mehta2017",
            "place": "Sec. 2",
            "quote": "near 0% training set error",
            "unchecked": {"reason": "needs_dataset", "why": "CIFAR-10."},
        },
    ]
}


def test_committed_ledger_covers_every_registered_claim():
    ledger = entries()
    assert len(ledger) > 50
    assert coverage_problems(ledger, registered_claims()) == []


def test_every_ledger_source_is_a_reference():
    known = set(references())
    assert {e.source for e in entries()} <= known
    assert {e.cited_in for e in entries() if e.cited_in} <= known


def test_coverage_finds_a_claim_without_entry_and_an_entry_without_claim():
    ledger = parse(GOOD, references())
    assert coverage_problems(ledger, {"c1"}) == []
    problems = coverage_problems(ledger, {"c1", "c2"})
    assert problems == ["claim 'c2' has no ledger entry (add one to ledger.yaml)"]
    problems = coverage_problems(ledger, set())
    assert problems == ["ledger entry 'a-checked' names claim 'c1', which no family registers"]


def test_parse_gives_typed_entries():
    checked, other = parse(GOOD, references())
    assert checked.checked and checked.claims == ("c1",) and checked.status == "checked"
    assert other.reason is Reason.NEEDS_DATASET and other.status == "needs_dataset" and not other.checked
    assert other.citation == "Zhang et al. 2017, Sec. 2, as quoted by Mehta et al. 2017"
    assert tally([checked, other]) == {"mehta2017": {"checked": 1}, "zhang2017": {"needs_dataset": 1}}
    assert claim_entries([checked, other]) == {"c1": [checked]}
    assert unchecked([checked, other]) == [other]


def _broken(change):
    data = copy.deepcopy(GOOD)
    change(data["entries"][0])
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda e: e.pop("quote"), "missing 'quote'"),
        (lambda e: e.update(extra=1), "unknown key(s) extra"),
        (lambda e: e.update(id="Bad Id"), "lower case words"),
        (lambda e: e.update(source="mehta_et_al.txt"), "is not a reference of sources.yaml"),
        (lambda e: e.update(cited_in="nobody"), "cited_in 'nobody' is not a reference"),
        (lambda e: e.update(unchecked={"reason": "needs_gpu", "why": "x"}), "exactly one of"),
        (lambda e: e.pop("claims"), "exactly one of"),
        (lambda e: e.update(claims=[]), "non-empty list"),
        (lambda e: e.update(claims=["c1", "c1"]), "names a claim twice"),
        (lambda e: e.update(quote="x" * 300), "cut it to"),
        (lambda e: e.update(place=""), "'place' must be a non-empty string"),
        (
            lambda e: (e.pop("claims"), e.update(unchecked={"reason": "too_hard", "why": "x"})),
            "reason 'too_hard' is not one of",
        ),
        (lambda e: (e.pop("claims"), e.update(unchecked={"reason": "needs_gpu"})), "mapping of 'reason' and 'why'"),
        (lambda e: e.update(id="b-unchecked"), "duplicate entry id(s): b-unchecked"),
    ],
)
def test_schema_violations_are_one_clear_error(change, message):
    with pytest.raises(ConfigError, match=None) as info:
        parse(_broken(change), references())
    assert message in str(info.value)


def test_the_document_must_be_a_list_of_entries():
    bad_documents: tuple[object, ...] = (None, [], {"entries": {}}, {"entries": [], "extra": 1})
    for bad in bad_documents:
        with pytest.raises(ConfigError, match="list under 'entries'"):
            parse(bad, references())


def test_readme_block_is_regenerated_between_its_markers_and_needs_them():
    from bnnrepro.workflow.generated import README_BEGIN, README_END, readme_text

    stale = f"intro\n{README_BEGIN}\n| old | table |\n{README_END}\noutro\n"
    fresh = readme_text(stale)
    assert fresh.startswith(f"intro\n{README_BEGIN}\n| Claim |") and fresh.endswith(f"{README_END}\noutro\n")
    assert "| old | table |" not in fresh and readme_text(fresh) == fresh
    for claim in registered_claims():
        assert f"| `{claim}` |" in fresh
    with pytest.raises(ConfigError, match="no generated claims block"):
        readme_text("a README without markers\n")
