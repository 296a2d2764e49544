"""What one load run measured: the client's view and the servers' CPU.

Both load generators (the Node.js one for gRPC, the Python one for direct
Redis) produce a :class:`Measured`; :class:`CpuWatch` samples the watched
server processes at the edges of the measured window, so the warm-up never
counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bench.procs import cpu_us, machine_busy_us

__all__ = ["CpuWatch", "Measured", "percentile"]


class CpuWatch:
    """CPU of some processes, by label, between :meth:`start` and :meth:`stop`.

    Also the whole machine's busy time, so a report can show how much CPU went
    to processes outside the bench (a shared machine skews every figure).
    """

    def __init__(self, pids: Mapping[str, int]) -> None:
        self.pids = dict(pids)
        self._start: dict[str, float] = {}
        self._machine_start = 0.0
        self.spent_us: dict[str, float] = {}
        self.machine_us = 0.0

    def _sample(self) -> dict[str, float]:
        return {label: cpu_us(pid) for label, pid in self.pids.items()}

    def start(self) -> None:
        self._machine_start = machine_busy_us()
        self._start = self._sample()

    def stop(self) -> None:
        end = self._sample()
        self.machine_us = machine_busy_us() - self._machine_start
        self.spent_us = {label: end[label] - self._start[label] for label in self.pids}


@dataclass(frozen=True)
class Measured:
    """One run at a fixed concurrency over a fixed window."""

    concurrency: int
    window_s: float
    calls: int
    errors: int
    p50_us: float | None
    p99_us: float | None
    #: CPU cores the load generator itself used during the window.
    client_cores: float
    #: CPU µs each watched process spent during the window, by label.
    server_cpu_us: dict[str, float] = field(default_factory=dict)
    check_failures: int = 0
    first_error: str | None = None
    #: Calls completed over the whole run, warm-up and drain included.
    total_calls: int = 0
    #: CPU µs the whole machine spent busy during the window (0 if not sampled).
    machine_busy_us: float = 0.0

    @property
    def rate(self) -> float:
        return self.calls / self.window_s if self.window_s > 0 else 0.0

    def cpu_per_call(self, label: str) -> float | None:
        """µs of ``label``'s CPU per completed call (None if not watched or no calls)."""
        spent = self.server_cpu_us.get(label)
        if spent is None or self.calls == 0:
            return None
        return spent / self.calls

    def cores(self, label: str) -> float | None:
        spent = self.server_cpu_us.get(label)
        if spent is None or self.window_s <= 0:
            return None
        return spent / 1e6 / self.window_s

    @property
    def other_cores(self) -> float | None:
        """Cores busy outside the watched servers and the load generator: noise."""
        if self.machine_busy_us <= 0 or self.window_s <= 0:
            return None
        ours = sum(self.server_cpu_us.values()) / 1e6 + self.client_cores * self.window_s
        return max(0.0, self.machine_busy_us / 1e6 - ours) / self.window_s


def percentile(sorted_values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile of an already sorted list (None when empty)."""
    if not sorted_values:
        return None
    rank = max(1, -(-len(sorted_values) * pct // 100))  # ceil without floats drifting
    return sorted_values[min(len(sorted_values), int(rank)) - 1]
