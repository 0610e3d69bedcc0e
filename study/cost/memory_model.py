"""A memory model: a run's training and evaluation peak (MB) predicted from its config, fitted to measured runs.

Each peak is modelled as a non-negative combination of the tensors a step keeps alive, counted in millions of
elements from the config (B batch, T length, C channels, H main units, E embedding, K supervised window, A anchors,
L segment, W auxiliary window, U decoder units; activations halved under bf16 / fp16):

  supervised  B K (H + E)       the main LSTM over the window the supervised loss reaches (K = T for full BPTT;
                                T / chunk + chunk when checkpointed, 2 sqrt(T) at `sqrt`)
  auxiliary   B A W (H + E)     the main LSTM over the auxiliary gradient windows
  decoder     B A L (U + H + E) the auxiliary LSTM over the segments
  logits      B A L C V         the auxiliary predictions (V = 256 tokens)
  attention   B T^2 heads layers + B T E layers   (the Transformer)
  tokens      B T C             the batch itself
  parameters  the estimated weight count (weights, gradients and optimizer state scale with it)

plus a constant (the framework, weights and optimizer state). The evaluation peak uses the evaluation batch, the
evaluation chunk and the tokens. Coefficients come from non-negative least squares over measured runs (a sweep's
results table, or bench rows), one model per device type; the stated error is the largest leave-one-out relative
error (at least FLOOR_MB), and a prediction is given with that error. No Ray, Optuna or MLflow here.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models import MODELS
from study.results.table import peak
from study.spec.definition import is_rerun

TRAIN_FEATURES = ("supervised", "auxiliary", "decoder", "logits", "attention", "tokens", "parameters")


EVAL_FEATURES = ("eval_activations", "eval_tokens")


VOCAB = 256


FLOOR_MB = 8.0  # the smallest stated error: the resident-set noise of a CPU run


EVAL_CHUNK = {"cuda": 512, "cpu": 128}  # models.lstm.CHUNK: evaluation runs in calls of this many steps


def features(flat: Mapping[str, Any], seq_len: int, channels: int, device: str, workers: int = 1) -> dict[str, float]:
    """Element counts (millions) of what a training step and an evaluation pass keep alive on one worker (which
    trains its share of the global batch), from a flat config."""
    b, t, c = math.ceil(flat["data.batch_size"] / workers), seq_len, channels
    h, e = flat["model.d_hidden"], flat["model.d_embed"]
    info, truncation = MODELS[flat["model.kind"]], flat.get("train.truncation")
    scale = 0.5 if flat.get("train.precision") in ("bf16", "fp16") else 1.0
    chunk = flat.get("train.checkpoint_chunk")
    if truncation is None and chunk is not None:  # chunk boundary states plus one recomputed chunk
        chunk = math.sqrt(t) if chunk == "sqrt" else min(chunk, t)
        window = t / chunk + chunk
    else:
        window = t if truncation is None else min(truncation, t)
    aux = info.auxiliary is not None
    a, segment = flat.get("aux.anchors", 1), flat.get("aux.segment_len", 0)
    aux_window = min(flat.get("aux.truncation", 0), segment + 1 if info.auxiliary == "reconstruct" else segment - 1)
    u = flat.get("aux.decoder_units", 0)
    transformer = not info.recurrent  # attention over the whole sequence
    layers, heads = flat.get("model.transformer_layers", 0), flat.get("model.transformer_heads", 0)
    eval_batch = flat.get("train.eval_batch_size", b)
    values = {
        "supervised": 0.0 if transformer else b * window * (h + e),
        "auxiliary": b * a * aux_window * (h + e) if aux else 0.0,
        "decoder": b * a * segment * (u + h + e) if aux else 0.0,
        "logits": b * a * segment * c * VOCAB if aux else 0.0,
        "attention": b * t * (t * heads + e) * layers if transformer else 0.0,
        "tokens": b * t * c,
        # weights, gradients and optimizer state (estimated sizes: embedding, LSTMs, output layers)
        "parameters": (VOCAB * c * e + 4 * h * (e + h) + h * flat["model.d_ffn"]
                       + (4 * h * (e + h) + 4 * u * (h + u) + u * VOCAB * c if aux else 0)
                       + (layers * (4 * e * e + 2 * e * flat.get("model.transformer_ffn", 0)) if transformer else 0)),
        "eval_activations": eval_batch * (t if transformer else min(t, EVAL_CHUNK[device])) * (h + e),
        "eval_tokens": eval_batch * t * c,
    }
    unscaled = ("tokens", "eval_tokens", "parameters")  # integers and fp32 weights under autocast too
    return {k: v * (1.0 if k in unscaled else scale) / 1e6 for k, v in values.items()}


def config_features(flat: Mapping[str, Any], device: str, workers: int = 1) -> dict[str, float]:
    """`features` of a flat config, its length and channels from the dataset registry."""
    from data import DATASETS
    from study.run.config import config_from_dict, sequence_length, unflatten

    cfg = config_from_dict(unflatten(dict(flat)))
    return features(flat, sequence_length(cfg.data), DATASETS[cfg.data.name].channels, device, workers)


@dataclass(frozen=True)
class PeakModel:
    """One peak (training or evaluation) on one device type: MB = intercept + coef . features."""

    target: str  # "peak_memory_mb" | "eval_peak_memory_mb"
    device: str
    names: tuple[str, ...]
    intercept: float
    coef: tuple[float, ...]
    relative_error: float  # largest leave-one-out |error| / measured
    runs: int

    def predict(self, values: Mapping[str, float]) -> float:
        return self.intercept + sum(w * values[n] for w, n in zip(self.coef, self.names))

    def error_mb(self, predicted: float) -> float:
        """The stated error of a prediction."""
        return max(self.relative_error * predicted, FLOOR_MB)


def _solve(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Non-negative least squares with a constant, weighted by 1/y so small runs count as much as large ones."""
    from scipy.optimize import nnls  # only when fitting: every trial imports this module to predict

    design = np.hstack([np.ones((len(y), 1)), x]) / y[:, None]
    solution, _ = nnls(design, np.ones_like(y))
    return solution


def fit_peak(runs: list[tuple[dict[str, float], float]], target: str, device: str) -> PeakModel:
    """Fit one peak to (features, measured MB) pairs; the error is the largest leave-one-out relative error."""
    names = TRAIN_FEATURES if target == "peak_memory_mb" else EVAL_FEATURES
    if len(runs) < len(names) + 2:
        raise ValueError(f"{len(runs)} measured runs cannot fit {len(names) + 1} coefficients with an error estimate")
    x = np.array([[f[n] for n in names] for f, _ in runs])
    y = np.array([max(mb, 1.0) for _, mb in runs])
    errors = []
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        w = _solve(x[keep], y[keep])
        errors.append(abs(w[0] + x[i] @ w[1:] - y[i]) / y[i])
    w = _solve(x, y)
    return PeakModel(target, device, names, float(w[0]), tuple(float(v) for v in w[1:]), float(max(errors)), len(y))


@dataclass(frozen=True)
class Prediction:
    """A predicted peak and its stated error, in MB."""

    mb: float
    error: float


@dataclass(frozen=True)
class MemoryModel:
    train: PeakModel
    eval: PeakModel | None

    @property
    def device(self) -> str:
        return self.train.device

    def predict(self, flat: Mapping[str, Any], workers: int = 1) -> dict[str, Prediction]:
        """{peak name: prediction} of a flat config, per worker."""
        values = config_features(flat, self.device, workers)
        predicted = {m: m.predict(values) for m in (self.train, self.eval) if m}
        return {m.target: Prediction(mb, m.error_mb(mb)) for m, mb in predicted.items()}

    @classmethod
    def fit(
        cls, rows: Iterable[Mapping[str, Any]], device: str, statuses: tuple[str, ...] = ("COMPLETE",)
    ) -> MemoryModel:
        runs = measured_runs(rows, device, statuses)
        train = fit_peak([(f, p["peak_memory_mb"]) for f, p in runs if "peak_memory_mb" in p], "peak_memory_mb",
                         device)  # fmt: skip
        evaluated = [(f, p["eval_peak_memory_mb"]) for f, p in runs if "eval_peak_memory_mb" in p]
        return cls(train, fit_peak(evaluated, "eval_peak_memory_mb", device) if len(evaluated) > 4 else None)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps({"train": asdict(self.train), "eval": self.eval and asdict(self.eval)}, indent=1))

    @classmethod
    def load(cls, path: Path) -> MemoryModel:
        try:
            raw = json.loads(Path(path).read_text())
            peaks = [None if raw[k] is None else PeakModel(**{**raw[k], "names": tuple(raw[k]["names"]),
                     "coef": tuple(raw[k]["coef"])}) for k in ("train", "eval")]  # fmt: skip
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise ValueError(f"{path} is not a memory model written by `python -m study.memory fit` ({err})") from err
        return cls(*peaks)


def measured_runs(
    rows: Iterable[Mapping[str, Any]], device: str, statuses: tuple[str, ...] = ("COMPLETE",)
) -> list[tuple[dict[str, float], dict[str, float]]]:
    """(features, {peak name: MB}) of the rows of results tables with one of `statuses`, measured on `device`."""
    runs = []
    for row in rows:
        history = row.get("history") or []
        # Seed re-runs repeat a config (they would flatter the leave-one-out error); rows without a recorded device
        # predate it and may come from either.
        if (row.get("status") not in statuses or not history or history[-1].get("device") != device
                or is_rerun(row)):
            continue
        values = config_features(row["config"], device, history[-1].get("workers", 1))
        peaks = {name: value for name in ("peak_memory_mb", "eval_peak_memory_mb")
                 if (value := peak(row, name)) is not None}  # fmt: skip
        runs.append((values, peaks))
    return runs


@dataclass(frozen=True)
class MemoryCheck:
    """A trial's training peak as the memory model predicted it before the trial started, and as measured."""

    row: Mapping[str, Any]  # its results row
    predicted: float  # MB
    error: float  # the prediction's stated error, MB
    measured: float  # MB

    @property
    def within(self) -> bool:
        return abs(self.predicted - self.measured) <= self.error

    @property
    def relative_error(self) -> float:
        return abs(self.predicted - self.measured) / self.measured


def memory_checks(rows: Iterable[Mapping[str, Any]]) -> list[MemoryCheck]:
    """The predicted and measured training peaks of the COMPLETE rows the memory model predicted."""
    checks = []
    for row in rows:
        measured = peak(row, "peak_memory_mb")
        if row.get("status") == "COMPLETE" and row.get("predicted_peak_memory_mb") and measured is not None:
            predicted, error = row["predicted_peak_memory_mb"]
            checks.append(MemoryCheck(row, predicted, error, measured))
    return checks


DEFAULTS = Path(__file__).parents[1] / "memory_models"  # DEVICE.json: fitted to this project's measured runs


def default_model(device: str) -> Path:
    """The shipped memory model of a device type: study/memory_models/DEVICE.json."""
    return DEFAULTS / f"{device}.json"

