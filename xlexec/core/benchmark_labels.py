"""Each TCA benchmark's short name, as the tables (workbook) and the charts (PNG) label it; the
keys are :data:`xlexec.core.benchmarks.BENCHMARK_KEYS`. No imports: the workbook's layout reads
it without loading pandas."""

BENCHMARK_LABELS = {
    "signal": "signal",
    "arrival": "arrival",
    "interval_vwap": "interval VWAP",
    "twap": "TWAP",
    "day_vwap": "day VWAP",
    "close": "close",
}
