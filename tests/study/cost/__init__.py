"""Tests of study/cost/."""
