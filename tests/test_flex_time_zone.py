"""IBKR Flex ``DateTime`` (``20251030;093102``) carries no zone: ``fill_time_ny`` is computed only
when config ``broker.flex_time_zone`` names the zone the Flex query reports in, and an unknown
zone name is refused when the config loads. Through ``xlexec fills --json`` (a subprocess from a
folder that is not the project); expected times worked out by hand (New York is EDT, -04:00, on
2025-10-30; London is GMT after 26 Oct 2025, so 09:31:02 there is 05:31:02 in New York).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.reliability import _support as U
from xlexec.formats.fills import local_times_in_ny

XML = Path(__file__).parent / "data" / "fills" / "ibkr_flex_activity.xml"
CSV = Path(__file__).parent / "data" / "fills" / "ibkr_flex_sections.csv"


def fills(tmp_path: Path, config: str, sample: Path = XML):
    root, elsewhere = tmp_path / "desk", tmp_path / "elsewhere"
    root.mkdir(exist_ok=True)
    elsewhere.mkdir(exist_ok=True)
    (root / "config.yaml").write_text("live_dir: live\nexecution:\n  broker: paper\n" + config)
    return U.xlexec(["fills", "--config", str(root / "config.yaml"), str(sample), "--json"], cwd=elsewhere)


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("", ["", "", ""]),  # not configured: never guessed
        ("broker:\n  flex_time_zone: America/New_York\n", ["09:31:02", "09:31:40", "09:33:10"]),
        ("broker:\n  flex_time_zone: Europe/London\n", ["05:31:02", "05:31:40", "05:33:10"]),
    ],
)
@pytest.mark.parametrize("sample", [XML, CSV])
def test_fill_time_ny_from_the_configured_flex_zone(tmp_path, zone, expected, sample):
    r = fills(tmp_path, zone, sample)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)["fills"]
    assert [f["fill_time"] for f in got] == ["20251030;093102", "20251030;093140", "20251030;093310"]
    assert [f["fill_time_ny"] for f in got] == [f"2025-10-30T{t}-04:00" if t else "" for t in expected]


@pytest.mark.parametrize("bad", ["Mars/Olympus", "EST5EDT/x", "../../etc/passwd"])
def test_an_unknown_zone_name_is_refused_at_config_load(tmp_path, bad):
    r = fills(tmp_path, f"broker:\n  flex_time_zone: {bad}\n")
    assert r.returncode == 2 and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "broker.flex_time_zone" in lines[0] and "is not an IANA time zone name" in lines[0]


def test_local_flex_times_by_hand():
    got = local_times_in_ny(
        pd.Series(["20251030;094512", "20251030;094512", "20251102;013000", "20250309;023000", "20251030", ""]),
        "America/New_York",
    )
    # 01:30 on 2 Nov 2025 happens twice in New York, 02:30 on 9 Mar 2025 never: not guessed
    assert list(got) == ["2025-10-30T09:45:12-04:00", "2025-10-30T09:45:12-04:00", "", "", "", ""]
    london = local_times_in_ny(pd.Series(["20251030;094512", "20250701;143000"]), "Europe/London")
    assert list(london) == ["2025-10-30T05:45:12-04:00", "2025-07-01T09:30:00-04:00"]  # BST in July: 13:30 UTC
