"""Benchmarks: each measures learnreport against a reference in the same run."""
