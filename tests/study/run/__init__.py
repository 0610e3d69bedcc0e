"""Tests of study/run/."""
