"""`python -m study.memory fit | measure | predict`: the memory model that predicts a run's training and evaluation
peak from its config (`study.cost.memory_model`), fitted to measured runs, and its predictions."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from study.run.shadowing import refuse_shadowed


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    from study.cost.memory_model import default_model

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
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    refuse_shadowed("auxlstm-memory")
    from study.cost.measure import measure_grid, run_row
    from study.cost.memory_model import MemoryModel, default_model
    from study.results.sweep_dir import find_sweep
    from study.results.table import load_rows
    from study.run.config import ConfigError, flatten, load_config

    args = parse_args(argv)
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
        elif args.command == "measure":
            measure_grid(args.out, args.data_dir)
            print(f"runs: {args.out}/*; fit with python -m study.memory fit --runs {args.out}/* --device DEVICE")
        else:
            model = MemoryModel.load(args.model or default_model(args.device))
            for name, peak in model.predict(flatten(load_config(args.config, args.overrides))).items():
                print(f"{name}: {peak.mb:,.0f} MB ± {peak.error:,.0f}")
    except (FileNotFoundError, ValueError, ConfigError) as err:
        print(f"memory error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
