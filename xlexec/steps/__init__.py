"""One function per step of the day; each returns a typed result."""
