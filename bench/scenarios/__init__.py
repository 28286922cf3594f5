"""One module per benchmark scenario (see :mod:`bench.harness` for the interface)."""
