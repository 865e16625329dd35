"""The claims ledger (``ledger.yaml``): every checkable statement of the study's documents and of the
papers they lean on, with the claims that check it or the reason none does.

:func:`entries` loads and validates it (a malformed ledger is a :class:`~bnnrepro.errors.ConfigError`
naming the entry and the key); :func:`coverage_problems` compares it with the registered claims: a
claim no entry names, or an entry naming a claim that does not exist, is a problem (the ledger test
and ``bnnrepro generate`` fail on them).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

import yaml

from bnnrepro.errors import ConfigError
from bnnrepro.families.sources import cite, references

LEDGER_FILE = Path(__file__).with_name("ledger.yaml")
ID_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
#: The longest quote: a ledger quotes, it does not copy.
MAX_QUOTE = 240


class Reason(StrEnum):
    """Why a statement is not checked."""

    NEEDS_GPU = "needs_gpu"
    NEEDS_DATASET = "needs_dataset"
    NOT_CHECKABLE = "not_checkable"
    NO_CLAIM_YET = "no_claim_yet"

    @property
    def label(self) -> str:
        return REASON_LABELS[self]


REASON_LABELS = {
    Reason.NEEDS_GPU: "needs a GPU",
    Reason.NEEDS_DATASET: "needs the paper preset (a dataset this machine cannot download)",
    Reason.NOT_CHECKABLE: "not checkable as stated",
    Reason.NO_CLAIM_YET: "checkable here, but no claim checks it yet",
}


@dataclass(frozen=True)
class LedgerEntry:
    """One statement: where it is made, and the claims that check it or why none does."""

    id: str
    source: str  # a reference key of sources.yaml
    place: str
    quote: str
    claims: tuple[str, ...] = ()
    reason: Reason | None = None
    why: str = ""
    cited_in: str | None = None  # the document whose wording the quote is, when it cites ``source``

    @property
    def checked(self) -> bool:
        return bool(self.claims)

    @property
    def citation(self) -> str:
        """``"Mehta et al. 2017, Sec. 4"`` (and, for a cited paper, the document quoting it)."""
        text = cite(self.source, self.place)
        return text if self.cited_in is None else f"{text}, as quoted by {cite(self.cited_in)}"

    @property
    def status(self) -> str:
        """``checked`` or the reason's value."""
        return "checked" if self.checked else self.unchecked_reason.value

    @property
    def unchecked_reason(self) -> Reason:
        """Why no claim checks this entry (:func:`parse` gives every entry without claims a reason)."""
        if self.reason is None:
            raise ValueError(f"ledger entry {self.id!r} is checked by claims {self.claims}: it has no reason")
        return self.reason


_KEYS = {"id", "source", "place", "quote", "claims", "unchecked", "cited_in"}
_REQUIRED = ("id", "source", "place", "quote")


def _text(where: str, key: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{LEDGER_FILE.name}: {where}: {key!r} must be a non-empty string, got {value!r}")
    return value.strip()


def parse(data: object, known_sources: Iterable[str]) -> tuple[LedgerEntry, ...]:
    """Validate the ledger's YAML document and return its entries (in file order)."""
    known = set(known_sources)
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list) or set(data) != {"entries"}:
        raise ConfigError(f"{LEDGER_FILE.name}: the document must be one mapping with a list under 'entries'")
    out: list[LedgerEntry] = []
    for i, raw in enumerate(data["entries"]):
        where = f"entry {i + 1}" + (f" ({raw.get('id')!r})" if isinstance(raw, dict) and "id" in raw else "")
        if not isinstance(raw, dict):
            raise ConfigError(f"{LEDGER_FILE.name}: {where} is not a mapping")
        unknown = sorted(set(raw) - _KEYS)
        if unknown:
            raise ConfigError(
                f"{LEDGER_FILE.name}: {where}: unknown key(s) {', '.join(unknown)}; allowed: {sorted(_KEYS)}"
            )
        for key in _REQUIRED:
            if key not in raw:
                raise ConfigError(f"{LEDGER_FILE.name}: {where}: missing {key!r}")
        entry_id = _text(where, "id", raw["id"])
        if not ID_PATTERN.match(entry_id):
            raise ConfigError(f"{LEDGER_FILE.name}: {where}: id must be lower case words joined by dashes")
        for key in ("source", "cited_in"):
            if raw.get(key) is not None and raw[key] not in known:
                raise ConfigError(
                    f"{LEDGER_FILE.name}: {where}: {key} {raw[key]!r} is not a reference of sources.yaml "
                    f"(known: {', '.join(sorted(known))})"
                )
        quote = _text(where, "quote", raw["quote"])
        if len(quote) > MAX_QUOTE:
            raise ConfigError(
                f"{LEDGER_FILE.name}: {where}: the quote is {len(quote)} characters; cut it to {MAX_QUOTE}"
            )
        has_claims, has_unchecked = "claims" in raw, "unchecked" in raw
        if has_claims == has_unchecked:
            raise ConfigError(f"{LEDGER_FILE.name}: {where}: give exactly one of 'claims' and 'unchecked'")
        claims: tuple[str, ...] = ()
        reason, why = None, ""
        if has_claims:
            value = raw["claims"]
            if not isinstance(value, list) or not value or not all(isinstance(c, str) and c for c in value):
                raise ConfigError(f"{LEDGER_FILE.name}: {where}: 'claims' must be a non-empty list of claim ids")
            if len(set(value)) != len(value):
                raise ConfigError(f"{LEDGER_FILE.name}: {where}: 'claims' names a claim twice")
            claims = tuple(value)
        else:
            value = raw["unchecked"]
            if not isinstance(value, dict) or set(value) != {"reason", "why"}:
                raise ConfigError(f"{LEDGER_FILE.name}: {where}: 'unchecked' must be a mapping of 'reason' and 'why'")
            try:
                reason = Reason(value["reason"])
            except ValueError:
                raise ConfigError(
                    f"{LEDGER_FILE.name}: {where}: reason {value['reason']!r} is not one of "
                    f"{', '.join(r.value for r in Reason)}"
                ) from None
            why = _text(where, "why", value["why"])
        out.append(
            LedgerEntry(
                entry_id,
                raw["source"],
                _text(where, "place", raw["place"]),
                quote,
                claims,
                reason,
                why,
                raw.get("cited_in"),
            )
        )
    duplicates = sorted(k for k, n in Counter(e.id for e in out).items() if n > 1)
    if duplicates:
        raise ConfigError(f"{LEDGER_FILE.name}: duplicate entry id(s): {', '.join(duplicates)}")
    return tuple(out)


@lru_cache(maxsize=1)
def entries() -> tuple[LedgerEntry, ...]:
    """The validated entries of ``ledger.yaml``."""
    return parse(yaml.safe_load(LEDGER_FILE.read_text(encoding="utf-8")), references())


def registered_claims() -> dict[str, str]:
    """Claim id -> family, over every family of the registry (imports their analyses)."""
    import importlib

    from bnnrepro.families.registry import FAMILIES

    out: dict[str, str] = {}
    for family in FAMILIES.values():
        for claim in importlib.import_module(family.analysis).CLAIMS:
            out[claim.id] = family.name
    return out


def coverage_problems(ledger: Sequence[LedgerEntry], claim_ids: Iterable[str]) -> list[str]:
    """A claim no ledger entry names, and a ledger entry naming a claim that does not exist."""
    claim_ids = set(claim_ids)
    named = {c for e in ledger for c in e.claims}
    problems = [f"claim {c!r} has no ledger entry (add one to {LEDGER_FILE.name})" for c in sorted(claim_ids - named)]
    problems += [
        f"ledger entry {e.id!r} names claim {c!r}, which no family registers"
        for e in ledger
        for c in e.claims
        if c not in claim_ids
    ]
    return problems


def claim_entries(ledger: Sequence[LedgerEntry]) -> dict[str, list[LedgerEntry]]:
    """Claim id -> the ledger entries it checks."""
    out: dict[str, list[LedgerEntry]] = {}
    for entry in ledger:
        for claim in entry.claims:
            out.setdefault(claim, []).append(entry)
    return out


def unchecked(ledger: Sequence[LedgerEntry]) -> list[LedgerEntry]:
    """The entries no claim checks, grouped by reason (in :class:`Reason` order), then in file order."""
    order = list(Reason)
    return sorted((e for e in ledger if not e.checked), key=lambda e: order.index(e.unchecked_reason))


def tally(ledger: Sequence[LedgerEntry]) -> dict[str, dict[str, int]]:
    """Source -> status -> count of entries."""
    out: dict[str, dict[str, int]] = {}
    for entry in ledger:
        by_status = out.setdefault(entry.source, {})
        by_status[entry.status] = by_status.get(entry.status, 0) + 1
    return out
