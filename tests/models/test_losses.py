"""The pure loss functions on cases computed by hand."""

from __future__ import annotations

import math

import torch

from models.losses import aux_token_loss, total_loss


def test_uniform_predictions_cost_log_vocab_whatever_the_targets():
    logits = torch.zeros(2, 3, 4, dtype=torch.float64)  # 2 anchors, 3 steps, 4 token values
    targets = torch.tensor([[0, 1, 2], [3, 3, 3]])
    assert math.isclose(aux_token_loss(logits, targets, 4).item(), math.log(4), rel_tol=1e-12)


def test_tokens_are_averaged_within_an_anchor_then_anchors_are_averaged():
    # anchor 0: two steps, a sure hit (loss ~0) and a uniform guess (log 2); anchor 1: uniform twice (log 2).
    big = 50.0
    logits = torch.tensor([[[big, -big], [0.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]]], dtype=torch.float64)
    targets = torch.tensor([[0, 1], [0, 1]])
    expected = ((0.0 + math.log(2)) / 2 + math.log(2)) / 2
    assert math.isclose(aux_token_loss(logits, targets, 2).item(), expected, rel_tol=1e-9)


def test_channels_count_as_tokens():
    logits = torch.zeros(1, 2, 3 * 5, dtype=torch.float64)  # 3 channels, 5 values each
    targets = torch.zeros(1, 2, 3, dtype=torch.int64)
    assert math.isclose(aux_token_loss(logits, targets, 5).item(), math.log(5), rel_tol=1e-12)


def test_only_valid_anchors_count_and_none_valid_gives_zero():
    big = 50.0
    logits = torch.tensor([[[big, -big]], [[-big, big]]], dtype=torch.float64)  # anchor 0 right, anchor 1 wrong
    targets = torch.tensor([[0], [0]])
    assert aux_token_loss(logits, targets, 2, torch.tensor([True, False])).item() < 1e-12
    assert math.isclose(aux_token_loss(logits, targets, 2, torch.tensor([False, True])).item(), 2 * big, rel_tol=1e-9)
    assert aux_token_loss(logits, targets, 2, torch.tensor([False, False])).item() == 0.0


def test_total_is_the_auxiliary_loss_alone_while_pretraining_else_weighted_sum():
    main, aux = torch.tensor(2.0), torch.tensor(3.0)
    assert total_loss(main, aux, 0.5, pretraining=False).item() == 3.5
    assert total_loss(main, aux, 0.0, pretraining=False).item() == 2.0  # weight 0: the auxiliary loss is off
    assert total_loss(main, aux, 0.5, pretraining=True).item() == 3.0  # pretraining ignores weight and main
