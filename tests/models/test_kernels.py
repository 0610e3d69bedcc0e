"""Recurrent kernels (`models.kernels`) against `nn.LSTM`: the same weights give the same outputs, states and
gradients in float64, alone and inside a whole r-LSTM / p-LSTM loss; `auto` runs only what was measured."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from models import kernels
from models.kernels import selection
from models.loop import compute_losses
from models.truncated import prefix_states
from tests.models.conftest import SEQ_LEN, TINY_AUX, TINY_TRAIN, tiny_model

FLASHRNN = ("flashrnn-fused", "flashrnn-triton")  # on CPU both run FlashRNN's reference loop


def _lstm(inputs: int, hidden: int) -> nn.LSTM:
    torch.manual_seed(3)
    lstm = nn.LSTM(inputs, hidden, batch_first=True).double()
    with torch.no_grad():  # distinct input and recurrent biases: a mapping that dropped one would show
        lstm.bias_ih_l0.uniform_(-1, 1)
        lstm.bias_hh_l0.uniform_(-1, 1)
    return lstm


def _grads(loss: torch.Tensor, tensors: list[torch.Tensor]) -> list[torch.Tensor]:
    return list(torch.autograd.grad(loss, tensors))


@pytest.mark.parametrize("kernel", FLASHRNN)
@pytest.mark.parametrize("with_state", [True, False])
def test_a_kernel_gives_nn_lstm_outputs_states_and_every_gradient(kernel: str, with_state: bool) -> None:
    lstm = _lstm(5, 6)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(3, 9, 5, generator=gen, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(1, 3, 6, generator=gen, dtype=torch.float64, requires_grad=True)
    c0 = torch.randn(1, 3, 6, generator=gen, dtype=torch.float64, requires_grad=True)
    state = (h0, c0) if with_state else None
    tensors = [x, *lstm.parameters()] + ([h0, c0] if with_state else [])

    def loss(outputs: torch.Tensor, final: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        return outputs.sin().sum() + final[0].cos().sum() + (final[1] ** 2).sum()

    ref_out, ref_final = lstm(x, state)
    out, final = kernels.run(lstm, x, state, kernel)
    for got, want in zip([out, *final], [ref_out, *ref_final]):
        assert got.shape == want.shape
        torch.testing.assert_close(got, want, atol=1e-10, rtol=0)
    for got, want in zip(_grads(loss(out, final), tensors), _grads(loss(ref_out, ref_final), tensors)):
        torch.testing.assert_close(got, want, atol=1e-10, rtol=0)


def test_rows_of_different_lengths_stop_where_packed_cudnn_stops() -> None:
    lstm = _lstm(4, 5)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(4, 7, 4, generator=gen, dtype=torch.float64)
    state = (torch.randn(1, 4, 5, generator=gen, dtype=torch.float64),) * 2
    lengths = torch.tensor([7, 1, 4, 6])
    want = kernels.final_state(lstm, x, lengths, state, "cudnn")
    got = kernels.final_state(lstm, x, lengths, state, "flashrnn-fused")
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, atol=1e-10, rtol=0)
    alone = lstm(x[1:2, :1], (state[0][:, 1:2], state[1][:, 1:2]))[1]  # the one-step row, read by itself
    torch.testing.assert_close(got[0][:, 1:2], alone[0], atol=1e-10, rtol=0)


@pytest.mark.parametrize("kind", ["r_lstm", "p_lstm"])
def test_a_whole_auxiliary_loss_and_its_gradients_equal_under_either_kernel(kind, tiny_batch) -> None:
    tokens, labels = tiny_batch
    aux = dataclasses.replace(TINY_AUX, decoder_init="project")  # a top layer wider than the bottom one
    results = []
    for kernel in ("cudnn", "flashrnn-fused"):
        model = tiny_model(kind, aux, recurrent_kernel=kernel)
        terms = compute_losses(
            model, tokens, labels, train=TINY_TRAIN, aux=aux, phase="joint",
            anchor_generator=torch.Generator().manual_seed(5),
        )  # fmt: skip
        params = list(model.parameters())
        results.append((terms.main, terms.aux, _grads(terms.total, params)))
    (main0, aux0, grads0), (main1, aux1, grads1) = results
    assert aux0 > 0
    torch.testing.assert_close(main1, main0, atol=1e-10, rtol=0)
    torch.testing.assert_close(aux1, aux0, atol=1e-10, rtol=0)
    assert len(grads1) == len(grads0) and any(g.abs().sum() > 0 for g in grads0)
    for got, want in zip(grads1, grads0):
        torch.testing.assert_close(got, want, atol=1e-10, rtol=0)


def test_the_packed_prefix_pass_equals_the_split_one_under_flashrnn(tiny_batch) -> None:
    tokens, _ = tiny_batch
    model = tiny_model("r_lstm", recurrent_kernel="flashrnn-fused")
    cuts, rows = torch.tensor([0, 5, 11, 3]), torch.tensor([0, 1, 2, 2])
    with torch.no_grad():
        packed = prefix_states(model, tokens, cuts, rows, chunk=4, strategy="packed")
        split = prefix_states(tiny_model("r_lstm"), tokens, cuts, rows, chunk=4, strategy="split")
    for got, want in zip(packed, split):
        torch.testing.assert_close(got, want, atol=1e-10, rtol=0)
    assert SEQ_LEN > int(cuts.max())


def test_auto_runs_only_what_was_measured_faster(monkeypatch) -> None:
    for kernel in selection.MEASURED_FASTEST.values():
        assert kernel in selection.KERNEL_NAMES and kernel != "auto"
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    if not selection.MEASURED_FASTEST:  # nothing measured yet: auto is today's path everywhere
        assert {kernels.resolve("auto", h, d) for h in (128, 256) for d in (cpu, cuda)} == {"cudnn"}
    monkeypatch.setattr(selection, "MEASURED_FASTEST", {("cpu", 6): "flashrnn-triton"})
    assert kernels.resolve("auto", 6, cpu) == "flashrnn-triton"
    assert kernels.resolve("auto", 7, cpu) == "cudnn"
    assert kernels.resolve("cudnn", 6, cpu) == "cudnn"


def test_a_kernel_whose_library_is_missing_is_refused_by_name(monkeypatch) -> None:
    import importlib.util

    from study.run.config import ConfigError, load_config, validate

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "flashrnn" else real(name, *a))
    monkeypatch.setattr(selection, "flashrnn_installed", lambda: False)
    with pytest.raises(kernels.KernelUnavailable, match=r"flashrnn-triton needs FlashRNN: pip install -e '.\[gpu\]'"):
        kernels.resolve("flashrnn-triton", 8, torch.device("cpu"))
    with pytest.raises(ConfigError, match=r"model.recurrent_kernel: flashrnn-fused needs FlashRNN"):
        validate(load_config(None, ["model.recurrent_kernel=flashrnn-fused"]))
    validate(load_config(None, ["model.recurrent_kernel=cudnn"]))


def test_the_device_check_runs_here_and_finds_every_kernel_exact_enough(capsys) -> None:
    from tests.gpu.kernel_check import main

    argv = ["--device", "cpu", "--units", "4", "6", "--steps", "6", "--seq-len", "20", "--batch", "3"]
    assert main(argv) == 0
    rows = [line.split(" | ") for line in capsys.readouterr().out.splitlines() if line.startswith("| flashrnn")]
    assert len(rows) == 6 and all(row[-1] == "yes |" for row in rows)  # 2 kernels x (stack, r_lstm, p_lstm)


def test_the_config_offers_exactly_the_kernels_the_interface_runs() -> None:
    import typing

    from models import ModelConfig

    choices = typing.get_args(typing.get_type_hints(ModelConfig)["recurrent_kernel"])
    assert choices == selection.KERNEL_NAMES and ModelConfig().recurrent_kernel == "auto"
