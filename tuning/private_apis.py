"""The private Ray and Optuna APIs the project relies on, each with why no public one serves; nothing else in the
project touches a private API (tests/test_private_apis.py scans for them).

They were verified against Ray 2.60 and Optuna 5.1, the ranges `pyproject.toml` pins: an upgrade starts by
widening a pin, and CI then runs every test that exercises these (tests/tuning/test_cluster_security.py,
test_reconcile.py, the end-to-end sweeps) before anything ships.

Ray (tuning/cluster.py: token authentication on, servers on loopback; Ray has no public option for either)
- `ray._raylet.Config.initialize`: Ray caches the authentication mode at import; switching it on for this
  process needs the cache refreshed, as `ray.init` does internally.
- `ray._raylet.AuthenticationTokenLoader`: whether a token exists, so the project writes it owner-only first.
- `ray._private.authentication.authentication_token_generator.generate_new_authentication_token`: Ray's token
  format (a fallback of the same format is used where it moved).
- `ray._private.ray_constants.ENABLE_RAY_CLUSTER`, `IS_WINDOWS_OR_OSX`: single-machine mode, which keeps a
  127.0.0.1 node IP from being rewritten to the outward one (and so binds Ray's servers to loopback).
- `ray._private.utils.read_ray_address`: the address `auto` resolves to, to tell whether it is loopback.
- `ray._private.worker._global_node` (`node_ip_address`, `all_processes`): the processes a local cluster
  started, whose listening sockets are checked.

Ray Tune (tuning/recorder.py)
- `Trial.storage.experiment_driver_staging_path`: where the driver writes Tune's experiment state, backed up
  after every step so a driver killed mid-write can resume.

Ray Tune's ASHA (tuning/resumable_asha.py: its rungs kept across a resume, which Tune does not save;
ray-project/ray#30838)
- `AsyncHyperBandScheduler._brackets` and `_Bracket._rungs`: the rungs' records, (milestone, {trial id: value}),
  read to save them and filled back on resume.

Optuna through Ray's `OptunaSearch` (tuning/tune_sweep.py: `SweepSearch` keeps Optuna's storage and Tune's saved
state in step across a killed driver, which the stock searcher does not)
- `OptunaSearch._ot_trials` (Tune trial id -> Optuna trial), `._ot_study`, `._completed_trials`.
- `optuna.trial.FrozenTrial._trial_id`: the storage id a lost running trial is resumed under
  (`optuna.trial.Trial(study, trial_id)`); the public `number` is not that id.
"""

# The versions these were verified against: (lowest, first not verified), as pyproject.toml pins them.
VERIFIED = {"ray": ("2.60", "2.61"), "optuna": ("5.1", "5.2")}
# What the uses look like in the source (a module prefix or an attribute), for tests/test_private_apis.py
PRIVATE: tuple[str, ...] = (
    "ray._raylet",
    "ray._private",
    "._global_node",
    ".storage.experiment_driver_staging_path",
    "._brackets",
    "._rungs",
    "._ot_trials",
    "._ot_study",
    "._completed_trials",
    "._trial_id",
)
