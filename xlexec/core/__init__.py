"""Pure core: pandas and dataclasses in and out; no I/O, clock, network or config object."""
