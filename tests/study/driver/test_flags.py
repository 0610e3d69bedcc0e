"""`study.sweep`'s flags: every one has a declared role, and `--resume` refuses every start-only flag by
construction, before anything is read or started."""

from __future__ import annotations

import argparse

import pytest

from study.driver.flags import FLAGS, build_parser, parse_args
from study.sweep import main

ROLES = {"start-only", "resume-safe"}


def _without_role(parser: argparse.ArgumentParser) -> list[str]:
    """The parser's --flags that FLAGS gives no role."""
    declared = {flag.name for flag in FLAGS}
    options = [o for action in parser._actions if not isinstance(action, argparse._HelpAction)
               for o in action.option_strings if o.startswith("--")]  # fmt: skip
    return sorted(set(options) - declared)


def test_every_flag_of_the_sweeps_parser_has_a_declared_role():
    assert _without_role(build_parser("sweep")) == [], "give these a role in study.driver.flags.FLAGS"
    assert {flag.role for flag in FLAGS} <= ROLES


def test_the_check_sees_a_flag_added_to_the_parser_by_hand():
    parser = build_parser("sweep")
    parser.add_argument("--stray")
    assert _without_role(parser) == ["--stray"]


@pytest.mark.parametrize("flag", [f for f in FLAGS if f.role == "start-only"], ids=lambda f: f.name)
def test_resume_refuses_every_start_only_flag_naming_it(flag, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    given = [flag.name, *flag.example]
    with pytest.raises(SystemExit) as stop:
        main(["--name", "old", "--resume", *given])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert flag.name in err and "set when a sweep starts; sweep old keeps its own" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("flag", [f for f in FLAGS if f.role == "resume-safe" and f.name != "--resume"],
                         ids=lambda f: f.name)  # fmt: skip
def test_resume_accepts_every_resume_safe_flag(flag):
    args = parse_args(["--name", "old", "--resume", flag.name, *flag.example], "sweep")
    assert args.resume and args.name == ("other" if flag.name == "--name" else "old")


def test_every_start_only_flag_has_an_example_that_sets_it():
    parser = build_parser("sweep")
    defaults = parser.parse_args([])
    for flag in (f for f in FLAGS if f.role == "start-only"):
        given = parser.parse_args([flag.name, *flag.example])
        assert vars(given) != vars(defaults), flag.name


def test_no_report_skips_the_report_and_may_be_given_on_resume():
    assert parse_args([], "sweep").report is True
    assert parse_args(["--no-report"], "sweep").report is False
    assert parse_args(["--name", "old", "--resume", "--no-report"], "sweep").report is False
    assert next(f for f in FLAGS if f.name == "--no-report").role == "resume-safe"
