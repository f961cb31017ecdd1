"""What the genre column says on a realistic library: the Debian game-music corpus, per source.

Scans the corpus (``tools/build_corpus.py``, ``docs/evaluation/corpus.md``) with the shipped model into a
data folder of its own (kept between runs: a rerun re-analyses nothing unless the model changed), then
reads back, per track, what the app and ``musicsim genres`` show, and compares it with the source's labels
in ``corpus.json``. Three columns are measured from the same stored analyses:

* ``head``: the raw genre head's argmax (the shipped behaviour before issue 12),
* ``genre``: the ten-genre answer with the prior correction and calibration (``musicsim.genres.label``),
* ``label``: the label people see (may be a genre GTZAN lacks, or uncertain).

Nothing here is fitted: the label rule's parameters come from GTZAN only (``resources/genre-label.json``).
Writes ``corpus-genres.json`` (every run kept under its name, so before/after stay side by side) and
``corpus-genres.md`` into ``--out``::

    .venv/bin/python -m benchmarks.eval_corpus_genres --corpus /work/corpus/library --run after
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from musicsim.fileio import atomic_write
from musicsim.genres import GENRES
from musicsim.genres.label import GenreLabel
from musicsim.library.library import Library

# A label (lower case) also matches a source's label under these names.
ALIASES = {"classical": {"orchestral", "classical"}, "electronic": {"electronic", "chiptune", "house", "psytrance",
                                                                    "drum and bass"},
           "ambient": {"ambient"}, "metal": {"metal", "death metal", "thrash metal"}, "world": {"world"}}
COLUMNS = ("head", "genre", "label")


def matches(name: str | None, genres: list[str]) -> bool:
    if not name:
        return False
    wanted = {g.lower() for g in genres}
    return bool(ALIASES.get(name, {name}) & wanted)


def collect(corpus: Path, data_dir: Path, workers: int | None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One dict per corpus file (its corpus.json row plus what musicsim says), and how the genres learned
    from the files' own genre tags agree with those tags (cross-validated)."""
    rows = {r["path"]: r for r in json.loads((corpus / "corpus.json").read_text(encoding="utf-8"))["files"]}
    with Library(data_dir=data_dir, device="cpu") as lib:
        t0 = time.monotonic()
        synced, report = lib.scan(corpus, workers=workers)
        print(f"scan: {synced.added} new, {synced.changed} changed; analysed {report.analysed} "
              f"({report.failed} failed) in {time.monotonic() - t0:.0f} s", file=sys.stderr)
        tracks = lib.genre_tracks(root=corpus)
        agreement = lib.genre_agreement().to_json()
        version = lib.current_version()
        raw = {int(i): np.frombuffer(b, np.float32) for i, b in lib.catalogue.conn().execute(
            "SELECT id, genre_probs FROM tracks WHERE status = 'analysed' AND model_version = ?", (version,))}
    out = []
    for t in tracks:
        rel = str(Path(t.path).relative_to(corpus))
        row = rows.get(rel)
        if row is None or t.id not in raw:
            continue
        lab: GenreLabel | None = t.genre_label
        head = GENRES[int(np.argmax(raw[t.id]))].lower()
        out.append({"path": rel, "source": row["source"], "kind": row["kind"], "expected": row["genre"],
                    "expected_all": row["genres"], "label_confidence_source": row["label_confidence"],
                    "head": head, "genre": t.genre, "confidence": t.confidence,
                    "label": lab.name if lab else None, "label_text": lab.text() if lab else None,
                    "label_p": lab.confidence if lab else None, "uncertain": lab.uncertain if lab else None,
                    "tags": t.tags[:3], "model_version": version, "file_genre": t.file_genre,
                    "suggested_genre": t.suggested_genre})
    return out, agreement


def summarise(items: list[dict[str, Any]]) -> dict[str, Any]:
    def share(sel: list[dict], column: str, test) -> float | None:
        return float(np.mean([bool(test(x[column], x)) for x in sel])) if sel else None

    sources: dict[str, Any] = {}
    for source in sorted({x["source"] for x in items}):
        sel = [x for x in items if x["source"] == source]
        expected = sorted({g for x in sel for g in x["expected_all"]})
        sources[source] = {
            "tracks": len(sel), "labels": dict(Counter(x["expected"] for x in sel).most_common()),
            "expected": expected,
            **{column: {"counts": dict(Counter(x[column] for x in sel).most_common()),
                        "matching": share(sel, column, lambda v, x: matches(v, x["expected_all"]))}
               for column in COLUMNS},
            "uncertain": share(sel, "uncertain", lambda v, x: bool(v)),
        }
    orchestral = [x for x in items if x["kind"] == "orchestral"]
    not_blues = [x for x in items if "blues" not in [g.lower() for g in x["expected_all"]]]
    labelled = [x for x in items if x["expected"] != "mixed"]
    goals = {column: {"orchestral_classical": share(orchestral, column, lambda v, x: v == "classical"),
                      "blues_on_not_blues": share(not_blues, column, lambda v, x: v == "blues"),
                      "matching_labelled_sources": share(labelled, column,
                                                         lambda v, x: matches(v, x["expected_all"]))}
             for column in COLUMNS}
    return {"tracks": len(items), "orchestral": len(orchestral), "not_blues": len(not_blues),
            "labelled": len(labelled), "goals": goals, "uncertain": share(items, "uncertain", lambda v, x: bool(v)),
            "sources": sources}


def pct(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.0f} %"


def render(report: dict[str, Any]) -> str:
    lines = ["# Genres on a realistic library (the Debian game-music corpus)", "",
             "Unedited output of `benchmarks/eval_corpus_genres.py` (see its docstring and "
             "`docs/evaluation/corpus.md`). Full-length tracks, analysed as the app analyses them (8 windows "
             "per track). Nothing is fitted on this corpus: the label rule comes from GTZAN alone "
             "(`resources/genre-label.json`). Columns: **head** = the raw genre head's argmax (musicsim before "
             "issue 12), **genre** = the ten-genre answer after the prior correction and calibration, "
             "**label** = what the genre column shows.", ""]
    runs = report["runs"]
    lines += ["## Goals, per run", "",
              "| run | model | column | orchestral → classical | blues on music that is not blues | "
              "matches a labelled source | uncertain |", "|---|---|---|---|---|---|---|"]
    for name, run in runs.items():
        s = run["summary"]
        for column in COLUMNS:
            g = s["goals"][column]
            lines.append(f"| {name} | {run['model_version']} | {column} | {pct(g['orchestral_classical'])} "
                         f"(n={s['orchestral']}) | {pct(g['blues_on_not_blues'])} (n={s['not_blues']}) | "
                         f"{pct(g['matching_labelled_sources'])} (n={s['labelled']}) | "
                         f"{pct(s['uncertain']) if column == 'label' else ''} |")
    last_name = list(runs)[-1]
    last = runs[last_name]["summary"]
    lines += ["", f"## Per source (run `{last_name}`)", "",
              "Share matching = the column's answer is one of the source's labels (orchestral counts as "
              "classical). Counts list every answer given.", "",
              "| source | tracks | source labels | head (matching) | label (matching) | uncertain |",
              "|---|---|---|---|---|---|"]

    def counts(c: dict) -> str:
        return ", ".join(f"{k} {v}" for k, v in list(c.items())[:5])

    for source, s in last["sources"].items():
        labels = ", ".join(f"{k} {v}" for k, v in s["labels"].items())
        lines.append(f"| {source} | {s['tracks']} | {labels} ({', '.join(s['expected'])}) | "
                     f"{counts(s['head']['counts'])} ({pct(s['head']['matching'])}) | "
                     f"{counts(s['label']['counts'])} ({pct(s['label']['matching'])}) | {pct(s['uncertain'])} |")
    lines += ["", "The `genre` column per source is in `corpus-genres.json`.", ""]
    agree = runs[last_name].get("own_tags_agreement")
    if agree and agree.get("files"):
        learned = ", ".join(f"{g} ({n})" for g, n in agree["learned_genres"].items())
        lines += ["## The files' own genre tags, learned (`tag-genres`)", "",
                  f"{agree['tagged']} corpus files carry a genre tag; genres with 5 or more: {learned}. "
                  f"Cross-validated, musicsim's suggestion equals the file's own tag for {agree['agreed']} of "
                  f"{agree['files']} ({pct(agree['share'])}; {pct(agree['balanced'])} averaged over genres). "
                  "Several of these tags name a use, not a style (Game, Sound FX, Soundtrack).", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", type=Path, default=Path("/work/corpus/library"))
    p.add_argument("--data-dir", type=Path, default=Path("~/.cache/musicsim/corpus-eval").expanduser(),
                   help="the evaluation's own library (kept: reruns re-analyse nothing)")
    p.add_argument("--out", type=Path, default=Path("docs/evaluation"))
    p.add_argument("--run", default="current", help="name of this run in the report (earlier runs are kept)")
    p.add_argument("--workers", type=int, default=None)
    args = p.parse_args(argv)
    items, agreement = collect(args.corpus.resolve(), args.data_dir, args.workers)
    path = args.out / "corpus-genres.json"
    report = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {"runs": {}}
    report["runs"][args.run] = {"model_version": items[0]["model_version"] if items else None,
                                "summary": summarise(items), "own_tags_agreement": agreement, "tracks": items}
    atomic_write(path, json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    atomic_write(args.out / "corpus-genres.md", render(report))
    g = report["runs"][args.run]["summary"]["goals"]
    for column in COLUMNS:
        c = g[column]
        print(f"{column}: orchestral->classical {pct(c['orchestral_classical'])}, blues on not-blues "
              f"{pct(c['blues_on_not_blues'])}, matching labelled {pct(c['matching_labelled_sources'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
