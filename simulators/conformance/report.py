"""The conformance report: one verdict per check, as text for people or JSON for programs."""

from __future__ import annotations

import json
import textwrap
from collections import Counter
from dataclasses import dataclass

from simulators.conformance.checks import CheckResult

__all__ = ["Report"]

_WIDTH = 100
_INDENT = " " * 8


@dataclass(frozen=True)
class Report:
    """Every check of one run against one agency system, and how the run was set up."""

    agency: str
    channel: str
    target: str | None
    """The webhook URL checked (None for the inbox channel)."""
    hub_url: str
    sender: str
    deadline: float
    started_at: str
    duration: float
    checks: tuple[CheckResult, ...]

    @property
    def passed(self) -> bool:
        """True when no check failed (advisory warnings and skips do not fail a run)."""
        return not any(check.failed for check in self.checks)

    def counts(self) -> dict[str, int]:
        """How many checks ended in each outcome."""
        counted = Counter(check.outcome for check in self.checks)
        return {outcome: counted.get(outcome, 0) for outcome in ("pass", "fail", "warn", "skip")}

    def as_json(self) -> dict[str, object]:
        """The report as one JSON object."""
        return {
            "agency": self.agency,
            "channel": self.channel,
            "target": self.target,
            "hub_url": self.hub_url,
            "sender": self.sender,
            "deadline": self.deadline,
            "started_at": self.started_at,
            "duration": round(self.duration, 3),
            "passed": self.passed,
            "counts": self.counts(),
            "checks": [check.as_json() for check in self.checks],
        }

    def to_json(self) -> str:
        """The JSON text of :meth:`as_json`."""
        return json.dumps(self.as_json(), ensure_ascii=False, indent=2)

    def to_text(self) -> str:
        """The report for people: one line per check, and for a failure what to fix."""
        polled = "VXP endpoint" if self.channel == "vxp" else "inbox"
        where = f" → {self.target}" if self.target else f" (polls the kit's {polled})"
        lines = [
            "lienthong conformance report — Báo cáo kiểm tra tuân thủ kết nối liên thông",
            f"agency {self.agency} · channel {self.channel}{where}",
            f"kit hub API {self.hub_url} · documents from {self.sender}",
            f"deadline {self.deadline:g} s · started {self.started_at} · took "
            f"{self.duration:.1f} s",
            "",
        ]
        for check in self.checks:
            lines.append(f"{check.outcome.upper():<5} {check.id:<24} {check.title}")
            lines.append(f"{_INDENT}({check.label_vi})")
            lines.extend(_field("expected", check.expected) if check.outcome != "pass" else [])
            lines.extend(_field("got", check.got))
            if check.outcome in ("fail", "warn") and check.fix:
                lines.extend(_field("fix", check.fix))
            for detail in check.details:
                lines.extend(
                    textwrap.wrap(
                        detail,
                        _WIDTH,
                        initial_indent=_INDENT + "  - ",
                        subsequent_indent=_INDENT + "    ",
                    )
                )
        counts = self.counts()
        total = len(self.checks)
        verdict = "PASSED — ĐẠT" if self.passed else "FAILED — KHÔNG ĐẠT"
        lines += [
            "",
            f"{verdict}: {counts['pass']} of {total} checks passed, {counts['fail']} failed, "
            f"{counts['warn']} advisory warning(s), {counts['skip']} skipped",
        ]
        return "\n".join(lines)


def _field(name: str, text: str) -> list[str]:
    return textwrap.wrap(
        text,
        _WIDTH,
        initial_indent=f"{_INDENT}{name + ':':<10}",
        subsequent_indent=_INDENT + " " * 10,
    )
