"""What an experiment holds, read through the MLflow server as JSON: run in the head's namespace, where the server
is (`python -m tests.cluster.mlflow_view URI EXPERIMENT`), by the tests that assert on it."""

from __future__ import annotations

import json
import sys

CHILD_CURVE = "val/accuracy"
PARENT_CURVES = ("best/val/accuracy", "trials/complete")


def view(uri: str, experiment: str) -> list[dict]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    runs = []
    for run in client.search_runs([found.experiment_id], max_results=100):
        role = run.data.tags.get("auxlstm.role")
        curves = (CHILD_CURVE,) if role == "trial" else PARENT_CURVES
        runs.append({
            "run_id": run.info.run_id, "status": run.info.status, "artifact_uri": run.info.artifact_uri,
            "role": role, "tags": dict(run.data.tags),
            "curves": {name: [[m.step, m.value] for m in client.get_metric_history(run.info.run_id, name)]
                       for name in curves},
        })  # fmt: skip
    return runs


def main(argv: list[str] | None = None) -> int:
    uri, experiment = (argv if argv is not None else sys.argv[1:])[:2]
    print(json.dumps(view(uri, experiment)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
