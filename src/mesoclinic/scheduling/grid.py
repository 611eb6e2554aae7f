"""Lay appointments out as a table: one row per 5 minutes, one column per practitioner, room or
day. Pure: the page renders the rows; an appointment is one cell spanning its rows (rowspan, so
no inline styles are needed under our Content-Security-Policy).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

STEP = 5


@dataclass(frozen=True)
class Entry:
    column: Hashable
    start: int  # minutes after local midnight
    end: int
    item: Any


@dataclass
class Cell:
    kind: str  # "entry", "free" (inside working hours), "off"
    rowspan: int = 1
    item: Any = None


@dataclass
class Row:
    minute: int
    label: str = ""  # "09:00" on the hour
    cells: list[Cell] = field(default_factory=list)


def bounds(entries: Sequence[Entry], open_spans: dict[Hashable, list[tuple[int, int]]],
           default: tuple[int, int] = (8 * 60, 18 * 60)) -> tuple[int, int]:
    """The hours to show: the working hours and every appointment, on whole hours."""
    starts = [e.start for e in entries] + [a for spans in open_spans.values() for a, _b in spans]
    ends = [e.end for e in entries] + [b for spans in open_spans.values() for _a, b in spans]
    if not starts:
        return default
    return (min(starts) // 60) * 60, min(24 * 60, -(-max(ends) // 60) * 60)


def build(columns: Sequence[Hashable], entries: Sequence[Entry],
          open_spans: dict[Hashable, list[tuple[int, int]]], first: int, last: int) -> list[Row]:
    """Rows from `first` to `last` (minutes). Entries in one column never overlap: the database
    refuses two bookings of one practitioner or room at once."""
    by_start: dict[tuple[Hashable, int], Entry] = {}
    for entry in sorted(entries, key=lambda e: (e.start, e.end)):
        start = max(first, entry.start - entry.start % STEP)
        end = min(last, max(start + STEP, entry.end))
        if end <= first or start >= last:
            continue
        by_start.setdefault((entry.column, start), Entry(entry.column, start, end, entry.item))
    covered: dict[Hashable, int] = defaultdict(lambda: first)
    rows = []
    for minute in range(first, last, STEP):
        row = Row(minute, f"{minute // 60:02d}:00" if minute % 60 == 0 else "")
        for column in columns:
            if covered[column] > minute:
                continue
            found = by_start.get((column, minute))
            if found is not None:
                span = (found.end - minute + STEP - 1) // STEP
                row.cells.append(Cell("entry", span, found.item))
                covered[column] = minute + span * STEP
                continue
            inside = any(a <= minute < b for a, b in open_spans.get(column, ()))
            row.cells.append(Cell("free" if inside else "off"))
        rows.append(row)
    return rows
