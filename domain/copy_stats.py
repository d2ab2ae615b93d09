"""barman's copy_stats: seconds spent copying each archive base, as backup.info records them."""

from __future__ import annotations

from typing import Any


class CopyTimes:
    """Seconds per archive base (`data`, a tablespace oid), added up as the streamer goes."""

    def __init__(self) -> None:
        self._seconds: dict[str, float] = {}

    def add(self, base: str, seconds: float) -> None:
        self._seconds[base] = self._seconds.get(base, 0.0) + seconds

    def stats(self, total: float, workers: int) -> dict[str, Any]:
        """backup.info's copy_stats, with barman's keys (analysis is not a phase here: 0)."""
        items = {base: round(t, 6) for base, t in self._seconds.items()}
        return {
            "total_time": round(total, 6),
            "number_of_workers": workers,
            "analysis_time": 0,
            "analysis_time_per_item": {base: 0 for base in items},
            "copy_time_per_item": items,
            "serialized_copy_time_per_item": dict(items),
            "copy_time": round(sum(items.values()), 6),
            "serialized_copy_time": round(sum(items.values()), 6),
        }
