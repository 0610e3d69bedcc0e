"""Credentials are masked in everything the tracker sends to MLflow (a real SQLite store) and in exported text."""

from __future__ import annotations

import json
from pathlib import Path

from mlflow.tracking import MlflowClient

from tuning.redact import MASK, redact
from tuning.tracking import Tracker

ENV = {"AUXLSTM_TEST_SECRET_TOKEN": "tok-5f3a9e", "DB_PASSWORD": "hunter2-long", "MY_API_KEY": "k-123456789",
       "HOME": "/home/someone", "RAY_AUTH_MODE": "token"}  # fmt: skip


def test_url_passwords_and_credential_like_variables_are_masked_and_nothing_else():
    text = "http://alice:pw@127.0.0.1:5000 tok-5f3a9e hunter2-long k-123456789 /home/someone token sqlite:///x.db"
    assert redact(text, ENV) == f"http://alice:{MASK}@127.0.0.1:5000 {MASK} {MASK} {MASK} /home/someone token sqlite:///x.db"
    assert redact("k-123456789-and-more", {"A_KEY": "k-123456789", "B_TOKEN": "k-123456789-and-more"}) == MASK
    # a password holding an @, a bare token as the user, a secret escaped inside JSON
    assert redact("http://alice:p@ss@h:5000/x https://ghp_abc@github.com/x", {}) == (
        f"http://alice:{MASK}@h:5000/x https://{MASK}@github.com/x"
    )
    assert redact(json.dumps({"a": 'ab"cd\\ef'}), {"X_TOKEN": 'ab"cd\\ef'}) == json.dumps({"a": MASK})


def test_the_tracker_masks_run_names_params_tags_and_files(tmp_path: Path, monkeypatch):
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tracker = Tracker(uri, "exp", "sweep-1", tags={"auxlstm.command": "sweep --tracking-uri http://bob:s3cr3t@host"})
    parent = tracker.parent("sweep tok-5f3a9e", params={"p": "hunter2-long"}, tags={"t": "k-123456789"})
    child = tracker.child("t1", "trial", params={"q": "x hunter2-long"}, tags={})
    tracker.set_tags(child, {"auxlstm.reason": "failed with tok-5f3a9e"})
    tracker.log_files(child, {"config.yaml": "key: k-123456789\n"})
    client = MlflowClient(uri)
    texts = []
    for run_id in (parent, child):
        run = client.get_run(run_id)
        texts += [run.info.run_name, *run.data.params.values(), *run.data.tags.values()]
        local = Path(client.download_artifacts(run_id, "", str(tmp_path / run_id))) if run_id == child else None
        texts += [p.read_text() for p in local.rglob("*") if p.is_file()] if local else []
    assert "sweep --tracking-uri http://bob:***@host" in texts and "key: ***\n" in texts
    for secret in ("s3cr3t", "tok-5f3a9e", "hunter2-long", "k-123456789"):
        assert not any(secret in t for t in texts), secret
