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
    kind, truncation = flat["model.kind"], flat.get("train.truncation")
    scale = 0.5 if flat.get("train.precision") in ("bf16", "fp16") else 1.0
    chunk = flat.get("train.checkpoint_chunk")
    if truncation is None and chunk is not None:  # chunk boundary states plus one recomputed chunk
        chunk = math.sqrt(t) if chunk == "sqrt" else min(chunk, t)
        window = t / chunk + chunk
    else:
        window = t if truncation is None else min(truncation, t)
    aux = kind in ("r_lstm", "p_lstm")
    a, segment = flat.get("aux.anchors", 1), flat.get("aux.segment_len", 0)
    aux_window = min(flat.get("aux.truncation", 0), segment + 1 if kind == "r_lstm" else segment - 1)
    u = flat.get("aux.decoder_units", 0)
    transformer = kind == "transformer"
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
    from study.config import config_from_dict, sequence_length
    from study.export import unflatten

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
class MemoryModel:
    train: PeakModel
    eval: PeakModel | None

    @property
    def device(self) -> str:
        return self.train.device

    def predict(self, flat: Mapping[str, Any], workers: int = 1) -> dict[str, tuple[float, float]]:
        """{peak name: (predicted MB, stated error MB)} of a flat config, per worker."""
        values = config_features(flat, self.device, workers)
        predicted = {m: m.predict(values) for m in (self.train, self.eval) if m}
        return {m.target: (mb, m.error_mb(mb)) for m, mb in predicted.items()}

    @classmethod
    def fit(cls, rows: Iterable[Mapping[str, Any]], device: str) -> MemoryModel:
        runs = measured_runs(rows, device)
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


def measured_runs(rows: Iterable[Mapping[str, Any]], device: str) -> list[tuple[dict[str, float], dict[str, float]]]:
    """(features, {peak name: MB}) of the COMPLETE rows of results tables measured on `device`."""
    from study.results import peak
    from study.spec import is_rerun

    runs = []
    for row in rows:
        history = row.get("history") or []
        # Seed re-runs repeat a config (they would flatter the leave-one-out error); rows without a recorded device
        # predate it and may come from either.
        if (row.get("status") != "COMPLETE" or not history or history[-1].get("device") != device
                or is_rerun(row)):
            continue
        values = config_features(row["config"], device, history[-1].get("workers", 1))
        peaks = {name: value for name in ("peak_memory_mb", "eval_peak_memory_mb")
                 if (value := peak(row, name)) is not None}  # fmt: skip
        runs.append((values, peaks))
    return runs


def run_row(path: Path) -> dict[str, Any]:
    """A `study.train` run directory (config.yaml, history.json) as a results-table row."""
    from study.config import flatten, load_config

    history = Path(path) / "history.json"
    if not history.is_file():
        raise FileNotFoundError(f"{history} is missing: not a finished study.train run")
    return {"status": "COMPLETE", "config": flatten(load_config(Path(path) / "config.yaml")),
            "history": json.loads(history.read_text())}  # fmt: skip


# `measure`'s runs: kinds, truncations, batches and lengths (raster MNIST, long MNIST 2,304 to 16,384 steps) that
# span what the studies run. Each trains 4 batches of one epoch.
GRID = [
    ("lstm", None, 64, "mnist", 28), ("lstm", None, 128, "mnist_long", 64), ("lstm", 300, 128, "mnist_long", 64),
    ("r_lstm", 300, 128, "mnist", 28), ("r_lstm", 300, 64, "mnist_long", 90), ("p_lstm", 300, 128, "mnist_long", 64),
    ("lstm", None, 32, "mnist_long", 90), ("r_lstm", 300, 128, "mnist_long", 128), ("p_lstm", 300, 32, "mnist", 28),
    ("transformer", None, 32, "mnist", 28), ("lstm", None, 96, "mnist_long", 48), ("r_lstm", 300, 96, "mnist_long", 48),
]  # fmt: skip


def grid_settings(kind: str, truncation: int | None, batch: int, data: str, size: int) -> list[str]:
    return [
        f"model.kind={kind}", f"train.truncation={'null' if truncation is None else truncation}",
        f"data.batch_size={batch}", f"data.name={data}", f"data.image_size={size}", f"data.limit_train={4 * batch}",
        "data.limit_eval=256", "train.eval_batch_size=128", "train.epochs=1", "aux.pretrain_epochs=0",
    ]  # fmt: skip


def measure_run(settings: list[str], data_dir: str, out: str) -> None:
    """Train one `GRID` config into `out` (config.yaml, history.json), in this process."""
    from study.config import load_config
    from study.run import run_config

    run_config(load_config(None, settings), Path(data_dir), Path(out))


DEFAULTS = Path(__file__).parent / "memory_models"  # DEVICE.json: fitted to this project's measured runs


def default_model(device: str) -> Path:
    return DEFAULTS / f"{device}.json"


def main(argv: list[str] | None = None) -> int:
    import argparse
    import sys

    from study.results import load_rows
    from study.sweep_dir import find_sweep

    parser = argparse.ArgumentParser(prog="python -m study.memory", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    fit = commands.add_parser("fit", help="fit a model to finished sweeps' COMPLETE trials and study.train runs")
    fit.add_argument("--sweep", nargs="+", default=[], help="sweep names or directories")
    fit.add_argument("--runs", nargs="+", default=[], type=Path, help="study.train run directories")
    fit.add_argument("--sweeps-dir", default="sweeps", type=Path)
    fit.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="the runs measured on this device")
    fit.add_argument("--out", type=Path, help=f"model file (default {default_model('DEVICE')})")
    measure = commands.add_parser("measure", help="train the built-in grid of short runs, to fit a model to")
    measure.add_argument("--out", type=Path, required=True, help="one run directory per config under it")
    measure.add_argument("--data-dir", help="dataset cache (default: $AUXLSTM_DATA_DIR or ~/.cache/auxlstm)")
    predict = commands.add_parser("predict", help="predict the peaks of one config")
    predict.add_argument("--config", help="YAML config (defaults apply to what it leaves out)")
    predict.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    predict.add_argument("--model", type=Path, help="model file (default: the shipped one for --device)")
    predict.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    args = parser.parse_args(argv)
    from study.config import ConfigError, flatten, load_config

    try:
        if args.command == "fit":
            rows = [row for name in args.sweep for row in load_rows(find_sweep(name, args.sweeps_dir).path)]
            rows += [run_row(path) for path in args.runs]
            model = MemoryModel.fit(rows, args.device)
            out = args.out or default_model(args.device)
            out.parent.mkdir(parents=True, exist_ok=True)
            model.save(out)
            for peak in (model.train, model.eval):
                if peak:
                    print(f"{peak.target}: {peak.runs} runs, leave-one-out error up to {peak.relative_error:.0%}")
            print(f"model: {out}")
            return 0
        if args.command == "measure":
            import gc

            import torch

            from data import default_data_dir
            from study.bench import in_fresh_process

            for i, point in enumerate(GRID):
                out = args.out / f"{i:02d}_{'_'.join(map(str, point))}"
                run = (str(default_data_dir(args.data_dir)), str(out))
                # On CPU the resident set's rise is the measure: each run in a fresh process, as trials run.
                if torch.cuda.is_available():  # the CUDA peak counts live tensors: drop the last run's first
                    gc.collect()
                    torch.cuda.empty_cache()
                    measure_run(grid_settings(*point), *run)
                else:
                    in_fresh_process(measure_run, grid_settings(*point), *run)
            print(f"runs: {args.out}/*; fit with python -m study.memory fit --runs {args.out}/* --device DEVICE")
            return 0
        model = MemoryModel.load(args.model or default_model(args.device))
        cfg = load_config(args.config, args.overrides)
        for name, (mb, error) in model.predict(flatten(cfg)).items():
            print(f"{name}: {mb:,.0f} MB ± {error:,.0f}")
    except (FileNotFoundError, ValueError, ConfigError) as err:
        print(f"memory error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
