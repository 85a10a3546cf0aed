"""The knobs of the profiler, with defaults that keep a 2-core machine's memory flat.

Django-free, so the bench and the worker build them the same way (profiling.conf reads the
settings into one of these).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class ProfileLimits:
    max_members: int = 100
    max_uncompressed_bytes: int = 20 * 1024**3
    # Delimited text compresses 5-20 times; a zip bomb thousands of times.
    max_compression_ratio: float = 200.0
    # The preliminary profile reads this much of each member, decompressed.
    head_bytes: int = 64 * 1024
    # duckdb's own bounds (it spills to temp_directory past memory_limit).
    memory_limit: str = "256MB"
    threads: int = 2
    # Distinct counts are exact up to here, approximate (HyperLogLog) above.
    exact_distinct_threshold: int = 100_000
    top_values: int = 5
    histogram_bins: int = 10
    samples: int = 5
    malformed_rows_cap: int = 100
