"""Archive splitting at -S: hypothesis properties of the pure rule."""

from hypothesis import given
from hypothesis import strategies as st

from domain.splitting import ChunkPolicy, capped, chunk_size, must_roll, part_size, split

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


def test_parts_start_at_5_mib_or_the_larger_minimum():
    s3 = ChunkPolicy(min_chunk=5 << 20, max_chunks=10000)
    assert chunk_size(s3, None) == 5 << 20
    assert chunk_size(s3, 64 << 20) == 64 << 20
    assert chunk_size(ChunkPolicy(min_chunk=16 << 20, max_chunks=10000), None) == 16 << 20


@given(st.integers(min_value=5 << 20, max_value=64 << 20))
def test_ten_thousand_parts_hold_more_than_the_largest_archive(base):
    capacity = sum(part_size(n, base) for n in range(1, 10001))
    assert capacity > (1 << 40) + (1 << 30)  # -S is capped at 1 TiB; one member overshoots
    assert part_size(1, base) == part_size(1000, base) == base
    assert part_size(1001, base) == 2 * base
    assert part_size(10000, 8 << 20) <= 5 << 30  # S3's largest part
