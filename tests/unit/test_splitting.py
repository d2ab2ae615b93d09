"""Archive splitting at -S: hypothesis properties of the pure rule."""

from hypothesis import given
from hypothesis import strategies as st

from domain.splitting import ChunkPolicy, capped, chunk_size, must_roll, split

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


def test_chunk_size_follows_barman_formula():
    s3 = ChunkPolicy(min_chunk=5 << 20, max_chunks=10000)
    assert chunk_size(100 * 1024**3, s3, None) == 21474836
    assert chunk_size(1 << 20, s3, None) == 5 << 20
    assert chunk_size(1 << 20, s3, 64 << 20) == 64 << 20
