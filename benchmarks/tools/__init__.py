"""Tools for looking into a fit: ``python -m benchmarks profile`` (:mod:`.profile_fit`)."""
