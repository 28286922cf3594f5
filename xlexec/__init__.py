"""xlexec: an Excel trade-execution blotter for small systematic equity funds.

The package is a pure core (``trades``, ``validate``, ``convert``, ``reconcile``, ``tca``
...: pandas in, pandas/dataclasses out, no Excel, no network, no hidden clock reads) and
thin shells around it (``cli``, ``excel``, ``broker``, ``journal``).
"""

__version__ = "0.1.0"
