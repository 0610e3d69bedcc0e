"""The report writer: sections in order, exactly the figures they drew returned (what reaches MLflow), and the
previous report's figures removed, never a file the report did not link."""

from __future__ import annotations

import json

import pytest

from study.reporting import writer
from study.reporting.section import ReportContext, Section
from study.results.sweep_dir import find_sweep


def _sweep(tmp_path):
    path = tmp_path / "made-here"
    path.mkdir()
    (path / "results.json").write_text("[]")
    data = {"name": "made-here", "study": "s", "spec": {}, "objectives": [{"metric": "val/accuracy", "mode": "max"}]}
    (path / "sweep.json").write_text(json.dumps(data))
    return find_sweep(str(path), tmp_path)


def _drawing(name: str):
    def section(ctx: ReportContext) -> Section:
        figure = ctx.out / name
        figure.write_bytes(b"\x89PNG drawn")
        return Section([f"## {name}", "", f"![{name}]({name})", ""], [figure])

    return section


def test_the_figures_the_sections_return_are_exactly_what_the_writer_returns(tmp_path, monkeypatch):
    out = tmp_path / "report"
    monkeypatch.setattr(writer, "SECTIONS", (_drawing("a.png"), lambda ctx: Section(), _drawing("b.png")))
    files = writer.write_report(_sweep(tmp_path), out)
    assert files == [out / "report.md", out / "a.png", out / "b.png"]
    text = (out / "report.md").read_text()
    assert text.index("## a.png") < text.index("## b.png")


def test_a_new_section_reaches_the_report_and_its_figure_without_a_second_list(tmp_path, monkeypatch):
    out = tmp_path / "report"
    monkeypatch.setattr(writer, "SECTIONS", (*writer.SECTIONS, _drawing("new_section.png")))
    files = writer.write_report(_sweep(tmp_path), out)
    assert out / "new_section.png" in files and "![new_section.png](new_section.png)" in files[0].read_text()


def test_the_previous_reports_figures_go_and_files_it_did_not_link_stay(tmp_path, monkeypatch):
    out = tmp_path / "report"
    sweep = _sweep(tmp_path)
    monkeypatch.setattr(writer, "SECTIONS", (_drawing("old.png"),))
    writer.write_report(sweep, out)
    (out / "mine.png").write_bytes(b"a user's own figure")
    monkeypatch.setattr(writer, "SECTIONS", (_drawing("new.png"),))
    files = writer.write_report(sweep, out)
    assert not (out / "old.png").exists() and (out / "mine.png").exists()
    assert files == [out / "report.md", out / "new.png"]


@pytest.mark.parametrize("section", writer.SECTIONS, ids=lambda s: s.__name__)
def test_every_shipped_section_returns_a_section_on_an_empty_sweep(section, tmp_path):
    sweep = _sweep(tmp_path)
    context = ReportContext(sweep=sweep, trials=[], metric="val/accuracy", mode="max", out=tmp_path)
    result = section(context)
    assert isinstance(result, Section) and all(path.exists() for path in result.figures)
