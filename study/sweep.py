"""`python -m study.sweep`: a study (spec) searched with Ray Tune + Optuna, every trial logged to MLflow.

With no arguments it runs the default study on this machine (local Ray, MLflow in ./mlflow.db). A malformed spec
is refused before Ray starts (exit 2); an unreachable tracking server or missing data stops it before any trial
(exit 1). `--name SWEEP --resume` continues a sweep whose driver died. At the end it exports the best configs.
The flags and their roles are declared in `study.driver.flags`.
"""

from __future__ import annotations

from study.run.shadowing import refuse_shadowed


def main(argv: list[str] | None = None) -> int:
    refuse_shadowed("auxlstm-sweep")
    from study.driver.command import sweep_command
    from study.driver.flags import parse_args

    return sweep_command(parse_args(argv, __doc__.splitlines()[0]))


if __name__ == "__main__":
    raise SystemExit(main())
