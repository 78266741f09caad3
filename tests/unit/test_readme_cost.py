"""README.md, "Cost": the functions and scheduler jobs it prices are the ones deployed."""

from __future__ import annotations

import json
import re
from pathlib import Path

from shared.deploy.archive import fakes_targets
from shared.system import load_subsystems
from shared.topology import Function, Schedule

ROOT = Path(__file__).resolve().parents[2]
WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
MONTH_MINUTES = 30 * 24 * 60


def _cost() -> str:
    """The README's "Cost" section with its lines joined, so a phrase may wrap."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n### Cost\n", 1)[1].split("\n## ", 1)[0]
    return " ".join(section.split())


def _declared() -> list[Function]:
    return [
        function
        for app in load_subsystems()
        for service in app.topology.services
        for function in service.functions
    ]


def _deployed() -> int:
    """Every function the prod root deploys: the declared ones and the fault recorders."""
    path = ROOT / "terraform" / "environments" / "prod" / "topology.auto.tfvars.json"
    subsystems = json.loads(path.read_text(encoding="utf-8"))["subsystems"]
    return sum(len(subsystem["functions"]) for subsystem in subsystems.values())


def test_the_cost_counts_every_function_a_deploy_builds() -> None:
    declared, deployed = len(_declared()), _deployed()
    sandbox = len(fakes_targets(ROOT))
    text = _cost()

    assert (
        f"{deployed} functions: {declared} declared, {deployed - declared} fault recorders" in text
    )
    assert f"rebuilds the {deployed} functions ({deployed + sandbox} in dev" in text


def test_the_cost_counts_every_scheduler_job_and_its_calls() -> None:
    schedules = [f for f in _declared() if isinstance(f, Schedule)]
    every_minute = sum(1 for s in schedules if s.every_s == 60)
    calls = sum(MONTH_MINUTES * 60 // s.every_s for s in schedules)
    text = _cost()

    assert f"of the {WORDS[len(schedules)]} scheduler jobs, {WORDS[every_minute]} tick" in text
    said = re.search(r"about ([\d,]+) calls a month", text)
    assert said, text
    assert abs(int(said[1].replace(",", "")) - calls) <= calls * 0.05, calls
