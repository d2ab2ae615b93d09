"""Archive splitting at -S: hypothesis properties of the pure rule."""

from collections.abc import Iterable

from hypothesis import given
from hypothesis import strategies as st

from cloud_base_backup.domain.splitting import ChunkPolicy, capped, chunk_size, must_roll


def split(sizes: Iterable[int], limit: int) -> list[list[int]]:
    """Indices of members per archive, rolling with the streamer's rule (must_roll)."""
    archives: list[list[int]] = [[]]
    written = 0
    for index, size in enumerate(sizes):
        if must_roll(written, len(archives[-1]), limit):
            archives.append([])
            written = 0
        archives[-1].append(index)
        written += size
    return archives


sizes = st.lists(st.integers(min_value=0, max_value=5000), max_size=200)
limits = st.integers(min_value=1, max_value=20000)


@given(sizes, limits)
def test_every_member_lands_in_exactly_one_archive_in_order(member_sizes, limit):
    archives = split(member_sizes, limit)
    flat = [i for archive in archives for i in archive]
    assert flat == list(range(len(member_sizes)))


@given(sizes, limits)
def test_an_archive_exceeds_the_limit_only_by_its_last_member(member_sizes, limit):
    for archive in split(member_sizes, limit):
        before_last = sum(member_sizes[i] for i in archive[:-1])
        assert before_last <= limit


@given(sizes, limits)
def test_no_archive_is_empty_and_archives_are_not_closed_early(member_sizes, limit):
    archives = split(member_sizes, limit)
    if member_sizes:
        assert all(archives)
    for archive, following in zip(archives, archives[1:], strict=False):
        # an archive is closed only once it has passed the limit
        assert sum(member_sizes[i] for i in archive) > limit
        assert following


def test_a_member_larger_than_the_limit_goes_whole_into_its_own_archive():
    assert split([10, 500, 10], 100) == [[0, 1], [2]]
    assert split([500, 10], 100) == [[0], [1]]


def test_must_roll_never_closes_an_empty_archive():
    assert not must_roll(10**12, 0, 1)
    assert not must_roll(100, 3, 100)
    assert must_roll(101, 3, 100)


def test_cap_at_one_tib():
    assert capped(1 << 40) == (1 << 40, True)
    assert capped((1 << 40) - 1) == ((1 << 40) - 1, False)


S3 = ChunkPolicy(min_chunk=5 << 20, max_chunks=10_000)
AZURE = ChunkPolicy(min_chunk=64 << 10, max_chunks=50_000)
MIB, GIB, TIB = 1 << 20, 1 << 30, 1 << 40
policies = st.sampled_from([S3, AZURE, ChunkPolicy(min_chunk=16 << 20, max_chunks=1_000)])


def test_the_part_size_at_barman_defaults_and_at_the_cap():
    assert chunk_size(S3, 100 * GIB, None) == 11 * MIB  # -S 100GB: 101 GiB in 10,000 parts
    assert chunk_size(S3, TIB, None) == 105 * MIB  # (1 TiB + 1 GiB + 64 MiB) / 10,000
    assert chunk_size(S3, 4 * TIB, None) == chunk_size(S3, TIB, None)  # -S is capped first
    assert chunk_size(S3, 1 * GIB, None) == 5 * MIB
    assert chunk_size(S3, 1 * GIB, 64 * MIB) == 64 * MIB
    assert chunk_size(AZURE, 100 * GIB, None) == 5 * MIB


@given(
    policies,
    st.integers(min_value=1, max_value=2 * TIB),
    st.one_of(st.none(), st.integers(min_value=1, max_value=2 * GIB)),
    st.data(),
)
def test_any_archive_up_to_the_limit_plus_one_segment_fits_in_equal_parts(
    policy, max_archive_size, min_chunk_size, data
):
    size = chunk_size(policy, max_archive_size, min_chunk_size)
    largest = capped(max_archive_size)[0] + (1 << 30)
    archive = data.draw(st.integers(min_value=0, max_value=largest))
    assert size >= 5 * MIB and size >= policy.min_chunk
    assert size >= (min_chunk_size or 0)
    full, last = divmod(archive, size)
    assert full + (1 if last else 0) <= policy.max_chunks
    # chosen once: it depends on nothing the archive's content could change
    assert size == chunk_size(policy, max_archive_size, min_chunk_size)
