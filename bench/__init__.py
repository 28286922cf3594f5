"""xlexec benchmarks: every scenario of the benchmarks issue, each next to its baseline.

Run from the repository root::

    python -m bench                 # every scenario at full size, a Markdown table
    python -m bench --json          # one JSON list of {scenario, size, seconds, baseline_seconds,
                                    #   ratio, peak_mb, target, met, details}
    python -m bench --quick         # every scenario at 1/10 size (under a minute)
    python -m bench --only validate --repeat 7

How it measures (see ``bench/README.md``):

* xlexec and its baseline run on the same data in the same run, each in its **own
  subprocess** (so one side's memory or warm caches do not pollute the other's); each side
  reports the **median** of ``--repeat`` timed runs (after a warm-up where a scenario has a
  one-time cost such as loading the NYSE calendar);
* ``ratio`` = xlexec seconds / baseline seconds (below 1: xlexec is faster);
* ``peak_mb`` = the xlexec subprocess's peak resident memory (``VmHWM`` on Linux, else
  ``ru_maxrss``), the interpreter and pandas included;
* generated data is cached under ``$XLEXEC_BENCH_CACHE`` or the system temp dir (never in the
  repository); network traffic goes only to 127.0.0.1 (the fake Alpaca server of ``tests/``).

The orchestrator (:mod:`bench.__main__`) imports only the standard library; scenario modules
import pandas and xlexec inside their functions.
"""

SCENARIOS = [
    "validate",
    "reconcile",
    "tca_year",
    "workbook_write",
    "workbook_read",
    "submit",
    "submit_schwab",
    "submit_ibkr",
    "cancel_all",
    "journal",
    "button_press",
    "cli_start",
]
