"""Archive rolling at --max-archive-size: a member is never split across archives."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# barman caps -S at 1 TiB (with a warning) and the chunk size uses the value before the cap.
MAX_ARCHIVE_SIZE_CAP = 1 << 40


def must_roll(written: int, members: int, limit: int) -> bool:
    """Before adding a member: close the current archive if it already holds more than `limit`.

    `written` is what the archive has produced so far. An archive with no member is never
    closed, so a member larger than the limit goes whole into an archive of its own and the
    archive overshoots the limit by that one member only.
    """
    return members > 0 and written > limit


def capped(limit: int) -> tuple[int, bool]:
    """The limit actually applied, and whether it was capped."""
    if limit >= MAX_ARCHIVE_SIZE_CAP:
        return MAX_ARCHIVE_SIZE_CAP, True
    return limit, False


def split(sizes: Iterable[int], limit: int) -> list[list[int]]:
    """Indices of members per archive when each member adds its size to its archive."""
    archives: list[list[int]] = [[]]
    written = 0
    for index, size in enumerate(sizes):
        if must_roll(written, len(archives[-1]), limit):
            archives.append([])
            written = 0
        archives[-1].append(index)
        written += size
    return archives


@dataclass(frozen=True)
class ChunkPolicy:
    """How an object store wants multipart uploads cut."""

    min_chunk: int
    max_chunks: int


# Parts start small so memory stays low and flat ((jobs + 1) parts in memory whatever the data
# size); they double every PARTS_PER_STEP parts so 10,000 parts still hold more than 5 TiB,
# past the 1 TiB cap on -S plus the one-member overshoot.
BASE_PART_SIZE = 5 << 20
PARTS_PER_STEP = 1000


def chunk_size(policy: ChunkPolicy, min_chunk_size: int | None) -> int:
    """Size of the first parts: max(5 MiB, provider minimum, --min-chunk-size)."""
    return max(BASE_PART_SIZE, policy.min_chunk, min_chunk_size or 0)


def part_size(number: int, base: int) -> int:
    """Size of part `number` (1-based): `base`, doubled every PARTS_PER_STEP parts."""
    return base << ((number - 1) // PARTS_PER_STEP)
