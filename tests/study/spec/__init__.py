"""Tests of study/spec/."""
