"""Scenarios: scripted traffic between simulated agencies through a running hub, checked.

- :mod:`~simulators.scenario.spec` — the scenario file (YAML), validated field by field;
- :mod:`~simulators.scenario.plan` — the timed actions a scenario draws over a directory;
- :mod:`~simulators.scenario.deployment` — the running hub a scenario plays against, and the
  set-up that prepares one for simulated agencies;
- :mod:`~simulators.scenario.cast` — the simulated agency systems, each with its profile;
- :mod:`~simulators.scenario.observe` — what the hub and the systems show, judged and summed
  up per level;
- :mod:`~simulators.scenario.runner` — one run: play, settle, check, report.

Shipped scenario files live in ``simulators/scenarios/``.
"""

from __future__ import annotations

from simulators.scenario.cast import Cast, open_cast
from simulators.scenario.deployment import Deployment, DeploymentError, load_deployment
from simulators.scenario.observe import LevelRow, render_table, summarize
from simulators.scenario.plan import Plan, Roster, make_plan
from simulators.scenario.runner import Progress, RunReport, ScenarioRunner
from simulators.scenario.spec import Scenario, ScenarioError, load_scenario, shipped_scenarios

__all__ = [
    "Cast",
    "Deployment",
    "DeploymentError",
    "LevelRow",
    "Plan",
    "Progress",
    "Roster",
    "RunReport",
    "Scenario",
    "ScenarioError",
    "ScenarioRunner",
    "load_deployment",
    "load_scenario",
    "make_plan",
    "open_cast",
    "render_table",
    "shipped_scenarios",
    "summarize",
]
