"""Archive rolling at --max-archive-size: a member is never split across archives."""

from __future__ import annotations

from dataclasses import dataclass

# barman caps -S at 1 TiB (with a warning); the part size is chosen from the capped value.
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


@dataclass(frozen=True)
class ChunkPolicy:
    """How an object store wants multipart uploads cut: smallest non-last part, most parts."""

    min_chunk: int
    max_chunks: int


# Parts are never smaller than 5 MiB on any store (S3 and GCS refuse smaller non-last parts;
# on Azure it keeps the request count down).
BASE_PART_SIZE = 5 << 20
# What an archive may hold past -S: it closes only once it is over the limit, so the member
# that crosses it goes in whole. PostgreSQL cuts relations into 1 GiB segments; the slack
# covers tar headers, a codec's expansion of incompressible data and the output a codec
# still holds when -S is compared.
SINGLE_FILE_OVERSHOOT = 1 << 30
OVERSHOOT_SLACK = 64 << 20
PART_ROUNDING = 1 << 20


def chunk_size(policy: ChunkPolicy, max_archive_size: int, min_chunk_size: int | None) -> int:
    """The one part size of every archive of a backup, chosen before the first byte.

    Every non-last part of an archive has exactly this size (Cloudflare R2 refuses to complete
    an upload whose non-last parts differ). It is the largest of 5 MiB, the store's minimum,
    --min-chunk-size, and what keeps the largest possible archive (the capped -S plus one
    1 GiB member) within the store's part count, rounded up to a whole MiB.
    """
    largest = capped(max_archive_size)[0] + SINGLE_FILE_OVERSHOOT + OVERSHOOT_SLACK
    needed = -(-largest // policy.max_chunks)
    needed = -(-needed // PART_ROUNDING) * PART_ROUNDING
    return max(BASE_PART_SIZE, policy.min_chunk, min_chunk_size or 0, needed)
