"""Peak memory of a truncated run does not grow with the sequence length, for training and evaluation; full BPTT's
does. Measured on CPU as the rise of the resident set over one step (`PeakMemory`), each in a fresh process so
no allocator cache carries over; bounds are loose and nothing is timed."""

from __future__ import annotations

import pytest

from tests.models.peaks import peaks

pytestmark = pytest.mark.slow  # each measurement is a fresh process of several seconds


@pytest.mark.parametrize("kind", ["lstm", "r_lstm", "p_lstm"])
def test_truncated_training_and_evaluation_peaks_stay_flat_from_1k_to_8k_steps(kind):
    short, long = peaks(kind, 1024, 64), peaks(kind, 8192, 64)
    # 8x the steps: an unchunked no-grad pass alone would add ~80 MB here (gates, outputs, embeddings).
    assert long["train"] <= 1.1 * short["train"] + 15, (short, long)
    assert long["eval"] <= 1.1 * short["eval"] + 15, (short, long)


def test_full_bptt_training_peak_grows_with_the_length():
    short, long = peaks("lstm", 1024, None), peaks("lstm", 8192, None)
    assert long["train"] > 3 * short["train"] and long["train"] > 50, (short, long)
