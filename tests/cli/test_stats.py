"""`main.py stats`: the demo shows the four clusters, and the numbers equal plain numpy."""

import json

import numpy as np

from cli import run_command
from core.sources import load_table

SPEC = "demo?images=300&seed=5"


def run_json(capsys, *argv):
    code = run_command(list(argv))
    out = capsys.readouterr().out
    assert code == 0
    return json.loads(out)


def test_stats_json_matches_plain_numpy(capsys):
    report = run_json(capsys, "stats", "--dataset", SPEC, "--json")
    table = load_table(SPEC)
    w, h = table.x2 - table.x1, table.y2 - table.y1
    ratio, side = w / h, np.sqrt(w * h)
    assert report["dataset"]["boxes"] == len(w) == sum(report["classes"].values())
    assert report["dataset"]["images"] == 300
    for key, values in (("aspect_ratio", ratio), ("side_length", side)):
        block = report[key]
        for p in (1, 5, 25, 50, 75, 95, 99):
            assert np.isclose(block["percentiles"][f"p{p}"], np.percentile(values, p))
        edges = np.array(block["histogram"]["edges"])
        assert np.allclose(np.log2(edges) * 2, np.round(np.log2(edges) * 2))  # half octaves
        assert edges[0] <= values.min() and values.max() <= edges[-1]
        assert block["histogram"]["counts"] == np.histogram(values, edges)[0].tolist()
    assert report["shape_groups"]["flat_strips"]["boxes"] == int((ratio >= 4).sum())
    assert report["shape_groups"]["thin_ticks"]["boxes"] == int((ratio <= 0.25).sum())


def test_demo_shows_the_four_clusters(capsys):
    report = run_json(capsys, "stats", "--dataset", "demo", "--json")
    groups = report["shape_groups"]
    assert groups["flat_strips"]["share"] >= 0.10
    assert groups["thin_ticks"]["share"] >= 0.10
    assert len(report["classes"]) == 4


def test_text_report_is_readable(capsys):
    assert run_command(["stats", "--dataset", SPEC]) == 0
    text = capsys.readouterr().out
    assert "Aspect ratio w/h" in text and "Side length" in text
    assert "flat strips (w/h >= 4)" in text


def test_bad_dataset_is_one_line_exit_2(capsys):
    assert run_command(["stats", "--dataset", "nosuchkind:x"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: nosuchkind:x: unknown dataset kind")
    assert "\n" not in err
