"""The ``with`` protocol of the simulators' servers, pollers and clients, written once."""

from __future__ import annotations

from types import TracebackType
from typing import Self

__all__ = ["Closing"]


class Closing:
    """Something released by :meth:`close`; usable in a ``with`` block, which closes it."""

    def close(self) -> None:
        """Release what this holds."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
