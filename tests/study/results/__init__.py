"""Tests of study.results: a sweep's results read back, ranked, exported and reproduced."""
