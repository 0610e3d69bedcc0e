"""Tests of study/driver/."""
