"""Brokers, the sending engine (exactly once), guards, market data, rate limits."""
