"""Folding a log into a ``CoopState`` and its ``Frontier``, page by page, as a sans-IO object.

A :class:`LogReplay` is fed a log's entries as ``(index, raw)`` rows, a page at a time, in
order. For each page it decodes the records (checking each signature, or not for rows a
node stored after verifying them), says which stored records the state must be shown
first (a governance-only state's :meth:`~.state.CoopState.lookups`), applies the page once
given them, and extends the Merkle frontier. :meth:`LogReplay.finish` then requires the
frontier the entries give to be the one expected (a stored tree head, or a signed
checkpoint's), so changed bytes anywhere are found. The caller reads the rows and the
looked-up entries; this object does no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from .errors import InvalidProof, LocalProtocolError, RemoteProtocolError
from .merkle import Frontier, leaf_hash
from .records import Record
from .state import CoopState, Entry
from .sync import PageVerifier

__all__ = ["LogReplay", "Rows"]

#: What a page of rows is: each entry's index in the log, and its record's bytes.
Rows = Iterable[tuple[int, bytes]]
_NO_PAGE: Final = "no page is waiting: feed() one first"


class LogReplay:
    """One log folded from ``state.size`` on: ``feed`` a page, ``apply`` it, ..., ``finish``.

    ``state`` may keep every entry or governance only; it is changed in place, and
    ``frontier`` (the tree of its first ``state.size`` entries) is replaced as entries are
    applied. ``verify_page`` checks the signatures of each page (e.g.
    :func:`.sync.verify_each`); leave it None for rows that were verified before they were
    stored. A governance-only state must be fed rows that are stored: what ``feed`` asks to
    look up, and what the state lets go after each page, is read back from that store.

    Bad data raises the error that found it (``DecodeError``, ``InvalidRecord``,
    ``InvalidSignature``, ``RecordRejected``, or ``RemoteProtocolError`` with code ``log_gap``
    for rows out of order, ``InvalidProof`` with code ``root_mismatch`` from ``finish``),
    and :attr:`failed_at` says at which entry when one entry is the reason. The entries
    before it stay applied.
    """

    def __init__(
        self,
        state: CoopState,
        frontier: Frontier | None = None,
        *,
        verify_page: PageVerifier | None = None,
    ) -> None:
        frontier = Frontier.empty() if frontier is None else frontier
        if frontier.size != state.size:
            raise LocalProtocolError(
                f"the state holds {state.size} entries but the frontier {frontier.size}"
            )
        self.state = state
        self.frontier = frontier
        self.verify_page = verify_page
        #: The index of the entry that failed, once one has.
        self.failed_at: int | None = None
        self._page: list[Record] | None = None
        self._leaves: list[bytes] = []
        self._asked: frozenset[bytes] = frozenset()
        state.settle()  # whatever it applied before is stored

    @property
    def size(self) -> int:
        """How many entries are applied: the index the next row must have."""
        return self.state.size

    def feed(self, rows: Rows) -> frozenset[bytes]:
        """Take the next page; return the ids to look up in the stored log, then :meth:`apply`.

        The ids are those of :meth:`~.state.CoopState.lookups` (none for a state that keeps
        every entry). Rows must follow on from :attr:`size` with no gap.
        """
        if self._page is not None:
            raise LocalProtocolError("the page fed before is not applied yet")
        records: list[Record] = []
        leaves: list[bytes] = []
        for index, raw in rows:
            expected = self.size + len(records)
            if index != expected:
                self.failed_at = expected
                raise RemoteProtocolError(
                    f"the log has a gap: entry {expected} is missing (got {index})",
                    code="log_gap",
                )
            try:
                records.append(Record.from_bytes(raw, verify=False))
            except RemoteProtocolError:
                self.failed_at = index
                raise
            leaves.append(leaf_hash(raw))
        if self.verify_page is not None:
            for i, problem in enumerate(self.verify_page(records)):
                if problem is not None:
                    self.failed_at = self.size + i
                    raise problem
        self._page, self._leaves = records, leaves
        self._asked = self.state.lookups(records)
        return self._asked

    def apply(self, found: Iterable[tuple[int, bytes]] = ()) -> None:
        """Apply the page fed last, given the stored ``(index, raw)`` rows of the ids asked.

        The stored rows were verified when stored: they are decoded without a signature
        check. Once the page is applied the state is told it is stored (``settle``).
        """
        records = self._page
        if records is None:
            raise LocalProtocolError(_NO_PAGE)
        self._page = None
        entries = [Entry(index, Record.from_bytes(raw, verify=False)) for index, raw in found]
        stray = [e.record.id.hex() for e in entries if e.record.id not in self._asked]
        if stray:
            raise LocalProtocolError(f"record(s) not asked for: {', '.join(stray)}")
        self.state.provide(entries, self._asked)
        frontier = self.frontier
        try:
            for record, leaf in zip(records, self._leaves, strict=True):
                try:
                    self.state.apply(record)
                except RemoteProtocolError:
                    self.failed_at = self.state.size
                    raise
                frontier, _ = frontier.append(leaf)
        finally:
            self.frontier = frontier
        self.state.settle()

    def finish(self, expected: Frontier) -> None:
        """Require the entries applied to give exactly the ``expected`` tree, or raise."""
        if self._page is not None:
            raise LocalProtocolError("the page fed last is not applied yet")
        if self.frontier != expected:
            raise InvalidProof(
                f"the entries ({self.frontier.size}, root {self.frontier.root().hex()}) do "
                f"not give the expected tree (size {expected.size}, root "
                f"{expected.root().hex()})",
                code="root_mismatch",
            )
