"""Warnings of third-party releases that are known and harmless, silenced one by one.

Each filter names the module that triggers it and the upstream change behind it, so it can go
when the upstream fixes it. Entry points call :func:`silence_known_warnings`; pytest's
``filterwarnings`` in ``pyproject.toml`` holds the same list.
"""

from __future__ import annotations

import warnings

__all__ = ["silence_known_warnings"]


def silence_known_warnings() -> None:
    """Ignore the known third-party warnings below, and nothing else."""
    # cryptography 51 deprecates DSA (pyca/cryptography#15597) and warns when DSAPrivateKey
    # is imported; pyHanko 0.38 imports it at module level for its type checks.
    warnings.filterwarnings(
        "ignore",
        message="DSA is deprecated",
        module=r"pyhanko\.sign\.signers\.pdf_cms",
    )
