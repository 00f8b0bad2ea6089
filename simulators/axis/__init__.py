"""A simulated national axis (VXP) node, for tests, demos and integrators.

``lienthong-sim axis --port P --systems FILE`` serves it; :class:`AxisSimulator` builds it in
a process (its ``app`` is an ASGI application, :class:`BackgroundServer` serves it on a
thread). It speaks :mod:`adapters.axis.protocol`, keeps queues in memory, and injects faults
on request.
"""

from __future__ import annotations

from simulators.axis.app import AxisSimulator
from simulators.axis.faults import Faults
from simulators.axis.server import BackgroundServer
from simulators.axis.systems import SimAgency, SimSystem, Systems, SystemsFileError, load_systems

__all__ = [
    "AxisSimulator",
    "BackgroundServer",
    "Faults",
    "SimAgency",
    "SimSystem",
    "Systems",
    "SystemsFileError",
    "load_systems",
]
