"""Tests of study/reporting/."""
