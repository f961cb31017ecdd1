"""The playlist engine: shared rules, mix, journey, radio, query resolution, XSPF — on a real SQLite
catalogue and a real hnswlib index, written with chosen embeddings (clusters, a line from A to B,
copies of one recording) so each behaviour is measured, not assumed."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote, urlparse
from xml.etree import ElementTree as ET

import numpy as np
import pytest

from musicsim.genres import GENRES
from musicsim.library.catalogue import AnalysisRow, ModelInfo
from musicsim.library.library import Library
from musicsim.library.playlist import write_playlist, xspf_text
from musicsim.library.records import Track
from musicsim.library.scanner import FoundFile
from musicsim.library.tags import TagInfo
from musicsim.playlists.filters import Filters, Pool, Selection, usable
from musicsim.playlists.journey import progress, slerp
from musicsim.playlists.radio import CAP_WINDOW, RadioSession

DIM = 16
XSPF = "{http://xspf.org/ns/0/}"


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)


def make_library(root: Path, rows: list[dict]) -> Library:
    """A library in ``root/data`` whose tracks are ``rows`` (path, title, artist, album, duration, genre,
    vector), analysed with model "v1" (GTZAN genres; ``genre`` is the top genre)."""
    lib = Library(root / "data", model_path=root / "none.pt")
    cat = lib.catalogue
    cat.register_model(ModelInfo("v1", list(GENRES), [], DIM))
    with cat.transaction() as conn:
        ids = [cat.add(conn, FoundFile(r["path"], 1, 1),
                       TagInfo(r.get("title", Path(r["path"]).stem), r.get("artist", ""), r.get("album", ""),
                               None, r.get("duration", 200.0))) for r in rows]
    results = []
    for i, r in zip(ids, rows):
        probs = np.full(len(GENRES), 0.01, np.float32)
        probs[GENRES.index(r.get("genre", "rock"))] = 0.9
        results.append(AnalysisRow(i, _unit(np.asarray(r["vector"], np.float32)), probs, np.zeros(0, np.float32), 8))
    cat.write_results("v1", results)
    return lib


def clusters(root: Path, per: int = 40, k: int = 3, seed: int = 0) -> tuple[Library, np.ndarray, dict[int, int]]:
    """``k`` well-separated clusters of ``per`` tracks in folders ``root/music/c<k>``: 4 artists and 2 albums
    per cluster, genre per cluster (rock, jazz, metal), durations 60-400 s (every 10th unknown).
    Returns the library, the cluster centres and each track id's cluster."""
    rng = np.random.default_rng(seed)
    centres = _unit(rng.standard_normal((k, DIM)) * 3)
    rows = []
    genres = ["rock", "jazz", "metal", "pop", "blues"]
    for c in range(k):
        for i in range(per):
            rows.append({"path": str(root / "music" / f"c{c}" / f"artist{i % 4}" / f"song {i}.mp3"),
                         "title": f"Song {c}-{i}", "artist": f"Artist {c}-{i % 4}", "album": f"Album {c}-{i % 2}",
                         "duration": None if i % 10 == 9 else float(60 + (i * 37) % 340), "genre": genres[c],
                         "vector": centres[c] + 0.35 * rng.standard_normal(DIM) / np.sqrt(DIM)})
    lib = make_library(root, rows)
    by_path = {r["path"]: c for r, c in zip(rows, [c for c in range(k) for _ in range(per)])}
    cluster_of = {t.id: by_path[t.path] for t in lib.tracks()}
    return lib, centres, cluster_of


def vectors_of(lib: Library) -> dict[int, np.ndarray]:
    ids, matrix = lib.embeddings()
    return {int(i): v for i, v in zip(ids.tolist(), matrix)}


# -- the shared rules --------------------------------------------------------------------------------
def _t(i: int, artist: str = "", album: str = "", duration: float | None = 200.0, genre: str | None = "rock",
       path: str | None = None) -> Track:
    return Track(id=i, path=path or f"/m/{i}.mp3", title=f"t{i}", artist=artist, album=album, track_number=None,
                 duration=duration, status="analysed", genre=genre)


def test_filters_admit_by_duration_genre_and_folder_and_round_trip() -> None:
    f = Filters(exclude_genres=frozenset({"Jazz "}), min_duration=60, max_duration=900,
                exclude_folders=("/music/Soundtracks/",))
    assert f.exclude_genres == {"jazz"} and f.exclude_folders == ("/music/Soundtracks",)
    assert f.admits(_t(1, duration=None))  # unknown duration: kept
    assert not f.admits(_t(2, duration=59.0)) and not f.admits(_t(3, duration=901.0)) and f.admits(_t(4, duration=60))
    assert not f.admits(_t(5, genre="jazz")) and f.admits(_t(6, genre=None))
    assert not f.admits(_t(7, path="/music/Soundtracks/x.mp3"))
    assert f.admits(_t(8, path="/music/Soundtracks2/x.mp3"))  # a sibling whose name starts alike is not inside
    assert Filters.from_dict(json.loads(json.dumps(f.to_dict()))) == f
    with pytest.raises(ValueError, match="max_per_album must be at least 1"):
        Filters(max_per_album=0)


def test_selection_caps_artists_and_albums_and_drops_copies() -> None:
    e = _unit(np.eye(3, dtype=np.float32))
    seed = (_t(0, "A", "X"), e[0])
    sel = Selection(Filters(max_per_artist=2, max_per_album=1), seeds=[seed])
    assert not sel.offer(_t(1, "B", "Y"), e[0], 1.0)  # a copy of the seed's recording (same duration)
    assert sel.offer(_t(2, "B", "Y", duration=260.0), e[0], 1.0)  # same sound, another length: another song
    assert not sel.offer(_t(2, "B", "Z"), e[1], 1.0)  # the same track twice
    assert not sel.offer(_t(3, "C", "Y"), e[1], 1.0)  # album Y is full
    assert sel.offer(_t(4, "B", "W"), e[1], 1.0) and not sel.offer(_t(5, "b ", "V"), e[2], 1.0)  # artist B full
    assert sel.offer(_t(6, "", ""), e[2], 1.0) and sel.offer(_t(7, "", ""), _unit(np.array([1, 1, 1.0])), 1.0)
    assert [s.track.id for s in sel.result()] == [2, 4, 6, 7]  # untagged tracks are never capped
    window = Selection(Filters(max_per_artist=1), window=2)
    assert window.offer(_t(10, "A"), e[0], 0) and window.offer(_t(11, "B"), e[1], 0)
    assert not window.offer(_t(12, "B"), e[2], 0)
    assert window.offer(_t(13, "C"), e[2], 0) and window.offer(_t(14, "A"), _unit(np.array([1, 0, 1.0])), 0)
    pool = Pool.of([(_t(1, "B", "Y"), e[0]), (_t(2, duration=260.0), e[0]), (_t(0), e[1]), (_t(3, genre="jazz"), e[2])])
    assert usable(pool, Filters(exclude_genres=frozenset({"jazz"})), [seed]).tolist() == [False, True, False, False]


def test_genre_exclusions_match_the_label_the_app_shows() -> None:
    from dataclasses import replace

    from musicsim.genres.label import GenreLabel

    unsure = GenreLabel("electronic", 0.41, True, (("electronic", 0.41), ("ambient", 0.3)))
    ambient = replace(_t(1, genre="blues"), genre_label=unsure)  # GTZAN says blues; the column says electronic
    rules = Filters(exclude_genres=frozenset({"electronic"}))
    assert not rules.admits(ambient) and rules.admits(_t(2, genre="blues"))
    assert Filters(exclude_genres=frozenset({"blues"})).admits(replace(_t(3, genre="blues"), genre_label=None)) is False


def test_similar_honours_every_filter_and_the_folder_scope(tmp_path: Path) -> None:
    lib, _, cluster_of = clusters(tmp_path)
    seed = next(i for i, c in cluster_of.items() if c == 0)
    base = lib.similar(seed, n=30, filters=Filters(max_per_artist=None))
    assert len(base) == 30 and all(cluster_of[s.track.id] == 0 for s in base[:20])
    rules = Filters(max_per_artist=3, max_per_album=5, exclude_genres=frozenset({"jazz"}), min_duration=100,
                    max_duration=350, exclude_folders=(str(tmp_path / "music" / "c0" / "artist1"),))
    got = lib.similar(seed, n=200, filters=rules)
    assert got, "some tracks pass"
    for s in got:
        t = s.track
        assert t.genre != "jazz" and (t.duration is None or 100 <= t.duration <= 350)
        assert "/c0/artist1/" not in t.path and t.id != seed
    artists = [s.track.artist for s in got]
    albums = [s.track.album for s in got]
    assert max(artists.count(a) for a in artists) <= 3 and max(albums.count(a) for a in albums) <= 5
    scoped = lib.similar(seed, n=200, filters=Filters(max_per_artist=None), root=tmp_path / "music" / "c2")
    assert scoped and all("/music/c2/" in s.track.path for s in scoped)
    lib.close()


# -- mix ---------------------------------------------------------------------------------------------
def test_mix_covers_each_seed_and_steers_away_from_minus(tmp_path: Path) -> None:
    lib, centres, cluster_of = clusters(tmp_path, per=40, k=3)
    vec = vectors_of(lib)
    first = {c: min(i for i, k in cluster_of.items() if k == c) for c in range(3)}
    seeds = [first[0], first[1]]
    got = lib.mix(seeds, n=10, filters=Filters(max_per_artist=None))
    assert len(got) == 10 and not {s.track.id for s in got} & set(seeds)
    home = [int(np.argmax([vec[s.track.id] @ vec[seed] for seed in seeds])) for s in got]
    assert home.count(0) == 5 and home.count(1) == 5  # both neighbourhoods, in turn
    assert home[:4] in ([0, 1, 0, 1], [1, 0, 1, 0])
    # Near all of them: the mix's lowest similarity to a seed beats each seed's own top-10's.
    low_mix = np.mean([min(vec[s.track.id] @ vec[seed] for seed in seeds) for s in got])
    for seed in seeds:
        own = lib.similar(seed, n=10, filters=Filters(max_per_artist=None))
        assert low_mix > np.mean([min(vec[s.track.id] @ vec[x] for x in seeds) for s in own])
    three = lib.mix([first[0], first[1], first[2]], n=9, filters=Filters(max_per_artist=None))
    assert sorted(cluster_of[s.track.id] for s in three) == [0, 0, 0, 1, 1, 1, 2, 2, 2]

    # Minus: a mix of cluster 0 and 2 seeds steered away from a cluster-0 song ends farther from it.
    away_seed = sorted(i for i, c in cluster_of.items() if c == 0)[5]
    plain = lib.mix([first[0], first[2]], n=10, filters=Filters(max_per_artist=None))
    steered = lib.mix([first[0], first[2]], n=10, minus=[away_seed], filters=Filters(max_per_artist=None))
    assert away_seed not in {s.track.id for s in steered}
    sim = lambda rows: float(np.mean([vec[s.track.id] @ vec[away_seed] for s in rows]))  # noqa: E731
    assert sim(steered) < sim(plain) - 0.02
    lib.close()


# -- journey -----------------------------------------------------------------------------------------
def line_library(root: Path, m: int = 60, noise: float = 0.08, seed: int = 1) -> tuple[Library, int, int]:
    """Tracks spread along the great circle from A to B (with noise), plus unrelated tracks off the way."""
    rng = np.random.default_rng(seed)
    a, b = _unit(rng.standard_normal(DIM)), _unit(rng.standard_normal(DIM))
    along = slerp(a, b, np.linspace(0.03, 0.97, m))
    rows = [{"path": str(root / "music" / "A.mp3"), "vector": a, "artist": "Start"},
            {"path": str(root / "music" / "B.mp3"), "vector": b, "artist": "End"}]
    rows += [{"path": str(root / "music" / "way" / f"{i:03d}.mp3"), "vector": v + noise * rng.standard_normal(DIM),
              "artist": f"Way {i % 20}", "duration": 100.0 + i} for i, v in enumerate(along)]
    rows += [{"path": str(root / "music" / "off" / f"{i:03d}.mp3"), "vector": rng.standard_normal(DIM),
              "duration": 50.0} for i in range(80)]
    lib = make_library(root, rows)
    ids = {t.path: t.id for t in lib.tracks()}
    return lib, ids[rows[0]["path"]], ids[rows[1]["path"]]


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    rx, ry = np.argsort(np.argsort(x)), np.argsort(np.argsort(y))
    return float(np.corrcoef(rx, ry)[0, 1])


def test_journey_has_n_songs_from_a_to_b_each_a_step_closer(tmp_path: Path) -> None:
    lib, a, b = line_library(tmp_path)
    vec = vectors_of(lib)
    for n in (2, 3, 12, 25):
        way = lib.journey(a, b, n=n)
        ids = [s.track.id for s in way]
        assert len(way) == n and ids[0] == a and ids[-1] == b and len(set(ids)) == n
        v = np.stack([vec[i] for i in ids])
        to_b = v @ vec[b]
        assert np.all(np.diff(to_b[1:]) > 0)  # every step after the first song moves nearer to B
        assert np.all(np.diff(progress(v, vec[a], vec[b])) > 0)
        assert all("/off/" not in s.track.path for s in way)  # the unrelated songs are off the way
        if n >= 12:
            assert _spearman(np.arange(n), to_b) >= 0.95
            consecutive = np.sum(v[:-1] * v[1:], axis=1).mean()
            rng = np.random.default_rng(0)
            shuffled = np.mean([np.sum(v[p][:-1] * v[p][1:], axis=1).mean()
                                for p in (rng.permutation(n) for _ in range(50))])
            assert consecutive > shuffled + 0.1
        assert way[0].score == 1.0 and [round(s.score, 5) for s in way[1:]] == [
            round(float(vec[x] @ vec[y]), 5) for x, y in zip(ids, ids[1:])]
    with pytest.raises(ValueError, match="at least 2"):
        lib.journey(a, b, n=1)
    with pytest.raises(ValueError, match="two different songs"):
        lib.journey(a, a, n=5)
    lib.close()


def test_journey_honours_filters_and_scope_and_runs_short_only_when_it_must(tmp_path: Path) -> None:
    lib, a, b = line_library(tmp_path, m=60)
    way = lib.journey(a, b, n=12, filters=Filters(max_per_artist=1))
    artists = [s.track.artist for s in way]
    assert len(way) == 12 and len(set(artists)) == 12  # 20 artists on the way, 3 songs each: one each
    uncapped = lib.journey(a, b, n=12, filters=Filters(max_per_artist=None))
    assert len({s.track.artist for s in uncapped}) < 12  # the cap changed the journey
    scoped = lib.journey(a, b, n=12, root=tmp_path / "music" / "way")  # the ends may lie outside the scope
    assert len(scoped) == 12 and all("/music/way/" in s.track.path for s in scoped[1:-1])
    # Only 3 songs of the way are at least 157 s long (the songs off the way are 50 s): a short journey.
    short = lib.journey(a, b, n=12, filters=Filters(min_duration=157))
    middle = [s.track for s in short[1:-1]]
    assert 1 <= len(middle) <= 3 and all(t.duration is not None and t.duration >= 157 for t in middle)
    assert [s.track.id for s in short[:1] + short[-1:]] == [a, b]
    empty = lib.journey(a, b, n=12, filters=Filters(exclude_folders=(str(tmp_path / "music" / "way"),
                                                                     str(tmp_path / "music" / "off"))))
    assert [s.track.id for s in empty] == [a, b]
    lib.close()


# -- radio -------------------------------------------------------------------------------------------
def radio_library(root: Path) -> tuple[Library, dict[int, int], list[tuple[int, int]]]:
    """Three clusters of 60 (c0 rock, c1 jazz, c2 metal) plus a copy of each of six c0 and c1 songs
    (same audio and length, another folder). Returns the library, clusters, and the copy pairs."""
    rng = np.random.default_rng(3)
    centres = _unit(rng.standard_normal((3, DIM)) * 3)
    rows = []
    for c, genre in enumerate(("rock", "jazz", "metal")):
        for i in range(60):
            rows.append({"path": str(root / "music" / f"c{c}" / f"artist{i % 6}" / f"{i:02d}.flac"),
                         "artist": f"Artist {c}-{i % 6}", "album": f"Album {c}-{i % 3}", "genre": genre,
                         "duration": None if i % 15 == 14 else float(40 + (i * 53) % 400),
                         "vector": centres[c] + 0.4 * rng.standard_normal(DIM) / np.sqrt(DIM)})
    originals = [rows[i] for i in (3, 8, 21, 64, 70, 99)]
    rows += [dict(r, path=r["path"].replace("/music/", "/music/copies/")) for r in originals]
    lib = make_library(root, rows)
    ids = {t.path: t.id for t in lib.tracks()}
    cluster_of = {ids[r["path"]]: int(r["path"].split("/music/")[1].split("/")[-3][1]) for r in rows}
    pairs = [(ids[r["path"]], ids[r["path"].replace("/music/", "/music/copies/")]) for r in originals]
    return lib, cluster_of, pairs


def _play(session: RadioSession, songs: int, skip_every: int = 3) -> list[Track]:
    """Take songs ``k`` at a time, skipping every ``skip_every``-th (5 s heard) and hearing the rest."""
    played: list[Track] = []
    while len(played) < songs:
        got = session.next(min(7, songs - len(played)))
        if not got:
            break
        for s in got:
            played.append(s.track)
            skipped = len(played) % skip_every == 0
            session.feedback(s.track.id, 5.0 if skipped else (s.track.duration or 200.0), skipped)
    return played


def test_radio_never_repeats_and_honours_every_filter(tmp_path: Path) -> None:
    lib, cluster_of, pairs = radio_library(tmp_path)
    seed = min(i for i, c in cluster_of.items() if c == 0)
    rules = Filters(max_per_artist=2, max_per_album=4, exclude_genres=frozenset({"metal"}), min_duration=80,
                    max_duration=380, exclude_folders=(str(tmp_path / "music" / "c1" / "artist2"),))
    session = lib.radio([seed], filters=rules)
    played = _play(session, 1000)
    ids = [t.id for t in played]
    assert session.history == ids and len(set(ids)) == len(ids) and seed not in ids  # never twice, never the seed
    assert session.next(5) == []  # it ran out: every song the rules allow was played or barred
    eligible = [t for t in lib.tracks() if rules.admits(t) and t.id != seed]
    assert all(rules.admits(t) for t in played) and len(played) >= len(eligible) // 2
    assert {cluster_of[i] for i in ids} == {0, 1}  # it drifted on to the other allowed cluster
    for a, b in pairs:
        assert not (a in ids and b in ids), "a copy of a recording already played"
    for start in range(len(played)):
        window = played[start : start + CAP_WINDOW]
        for key, cap in ((lambda t: t.artist, 2), (lambda t: t.album, 4)):
            values = [key(t) for t in window]
            assert max(values.count(v) for v in values) <= cap
    uncapped = lib.radio([seed], filters=Filters(max_per_artist=None))
    first = [s.track for s in uncapped.next(CAP_WINDOW)]
    assert max([t.artist for t in first].count(a) for a in {t.artist for t in first}) > 2  # the cap mattered
    lib.close()


def test_radio_steers_away_from_a_skipped_song(tmp_path: Path) -> None:
    lib, cluster_of, _ = radio_library(tmp_path)
    vec = vectors_of(lib)
    closer = 0
    seeds = [i for i, c in cluster_of.items() if c == 0][:6]
    for seed in seeds:
        runs = {}
        for skip in (False, True):
            session = lib.radio([seed], filters=Filters(max_per_artist=None))
            first = session.next(3)
            for s in first[:2]:
                session.feedback(s.track.id, s.track.duration or 200.0, skipped=False)
            skipped = first[2].track
            session.feedback(skipped.id, 4.0 if skip else (skipped.duration or 200.0), skipped=skip)
            after = [s.track.id for s in session.next(5)]
            runs[skip] = (after, float(np.mean([vec[i] @ vec[skipped.id] for i in after])))
            if skip:
                neighbours = set(ids_near(lib, skipped.id, 5))
                later = {s.track.id for s in session.next(40)}
                assert not neighbours & (later | set(after)), "a song next to the skipped one was played"
                assert neighbours <= session.barred
        closer += runs[True][1] < runs[False][1]
    assert closer == len(seeds)  # after every skip the next songs are farther from the skipped one
    lib.close()


def ids_near(lib: Library, track_id: int, k: int) -> list[int]:
    """The ``k`` nearest analysed tracks to ``track_id`` (exactly, over every embedding)."""
    ids, matrix = lib.embeddings()
    v = matrix[ids.tolist().index(track_id)]
    order = [int(ids[i]) for i in np.argsort(-(matrix @ v), kind="stable") if int(ids[i]) != track_id]
    return order[:k]


def test_radio_drifts_towards_what_is_heard(tmp_path: Path) -> None:
    lib, cluster_of, _ = radio_library(tmp_path)
    vec = vectors_of(lib)
    c1 = np.mean([vec[i] for i, c in cluster_of.items() if c == 1], axis=0)
    seed = min(i for i, c in cluster_of.items() if c == 0)
    still = lib.radio([seed], filters=Filters(max_per_artist=None))
    moved = lib.radio([seed], filters=Filters(max_per_artist=None))
    towards = [float(moved.centre @ c1)]
    heard = [i for i, c in cluster_of.items() if c == 1][:5]  # played from the queue by hand: fully heard
    for i in heard:
        moved.feedback(i, 10_000.0, skipped=False)
        towards.append(float(moved.centre @ c1))
    assert all(b > a for a, b in zip(towards, towards[1:]))
    barely = lib.radio([seed], filters=Filters(max_per_artist=None))
    barely.feedback(heard[0], 0.0, skipped=False)  # started and stopped at once: no pull
    assert np.allclose(barely.centre, still.centre)
    share = lambda s: np.mean([cluster_of[x.track.id] == 1 for x in s.next(10)])  # noqa: E731
    assert share(moved) >= 0.5 and share(still) == 0.0
    assert moved.centre @ vec[seed] > 0.3  # tied to its seed: it drifts, it does not jump
    lib.close()


def test_radio_is_deterministic_and_survives_a_restart(tmp_path: Path) -> None:
    lib, cluster_of, _ = radio_library(tmp_path)
    seeds = [min(i for i, c in cluster_of.items() if c == 0), min(i for i, c in cluster_of.items() if c == 1)]
    rules = Filters(max_per_artist=2, exclude_genres=frozenset({"metal"}))
    live = lib.radio(seeds, filters=rules)
    played = _play(live, 25)
    assert {cluster_of[t.id] for t in played[:10]} == {0, 1}  # two seeds: both neighbourhoods in turn
    again = lib.radio(seeds, filters=rules)
    assert [t.id for t in _play(again, 25)] == [t.id for t in played]  # the same history, the same stream
    saved = json.loads(json.dumps(live.to_dict()))
    expected = [(s.track.id, round(s.score, 6)) for s in live.next(10)]
    lib.close()

    reopened = Library(tmp_path / "data", model_path=tmp_path / "none.pt")
    restored = RadioSession.from_dict(reopened, saved)
    assert restored.history == [t.id for t in played] and restored.filters == rules
    assert [(s.track.id, round(s.score, 6)) for s in restored.next(10)] == expected

    taken = restored.next(3)
    restored.forget([s.track.id for s in taken])  # handed out, never played: they may come again
    assert [s.track.id for s in restored.next(3)] == [s.track.id for s in taken]
    with pytest.raises(ValueError, match="radio session"):
        RadioSession.from_dict(reopened, {"format": 99})
    with reopened.catalogue.transaction() as conn:
        reopened.catalogue.remove(conn, seeds)
    with pytest.raises(LookupError, match="seed songs"):
        RadioSession.from_dict(reopened, saved)
    reopened.close()


# -- which track a query names ---------------------------------------------------------------------
def test_resolve_says_which_track_it_used_and_names_the_others(tmp_path: Path) -> None:
    songs = [("a/1.mp3", "Jazz Night", "Ann"), ("a/2.mp3", "Smooth Jazz", "Ben"), ("a/3.mp3", "Blue", "Jazz Trio"),
             ("a/4.mp3", "Intro", ""), ("b/5.mp3", "Intro", "")]
    rows = [{"path": str(tmp_path / p), "title": t, "artist": a, "vector": np.eye(DIM)[i]}
            for i, (p, t, a) in enumerate(songs)]
    lib = make_library(tmp_path, rows)
    found = lib.resolve("jazz")
    assert found.ambiguous and found.matches == 3 and len(found.others) == 2
    assert {found.track.title, *(t.title for t in found.others)} == {"Jazz Night", "Smooth Jazz", "Blue"}
    exact = lib.resolve("smooth jazz")
    assert exact.track.title == "Smooth Jazz" and not exact.ambiguous
    assert lib.resolve("intro").track.path.endswith("/a/4.mp3")  # the oldest first...
    assert lib.resolve("intro", root=tmp_path / "b").track.path.endswith("/b/5.mp3")  # ...unless in the scope
    by_path = lib.resolve(str(tmp_path / "a" / "2.mp3"))
    assert by_path.track.title == "Smooth Jazz" and by_path.matches == 1
    assert lib.find("jazz").id == found.track.id
    with pytest.raises(LookupError, match='No track in the library matches "nothing here"'):
        lib.resolve("nothing here")
    lib.close()


# -- playlist files ----------------------------------------------------------------------------------
def test_xspf_is_valid_xml_listing_the_right_files(tmp_path: Path) -> None:
    import os

    odd = os.fsdecode(b"/m/caf\xe9 raw.mp3")  # not UTF-8: a lone surrogate in the str
    tracks = [Track(1, "/music/Ann & Ben/01 #1 100% — Café.flac", "Café \x07 <live>", "Ann & Ben", "Alb \"1\"", 3,
                    245.4, "analysed"),
              Track(2, "/music/plain.ogg", "", "", "", None, None, "analysed"),
              Track(3, odd, f"name {odd[-8:]}", "", "", None, 1.0, "analysed")]
    root = ET.fromstring(xspf_text(tracks, title="Like Café"))
    assert root.tag == f"{XSPF}playlist" and root.get("version") == "1"
    assert root.find(f"{XSPF}title").text == "Like Café"
    items = root.findall(f"{XSPF}trackList/{XSPF}track")
    locations = [i.find(f"{XSPF}location").text for i in items]
    assert all(loc.startswith("file:///") and " " not in loc and "#" not in loc[8:] for loc in locations)
    assert [os.fsencode(unquote(urlparse(loc).path, errors="surrogateescape")) for loc in locations] == [
        os.fsencode(t.path) for t in tracks]
    first = items[0]
    assert first.find(f"{XSPF}title").text == "Café <live>"  # control characters become spaces, then one
    assert (first.find(f"{XSPF}creator").text, first.find(f"{XSPF}album").text) == ("Ann & Ben", 'Alb "1"')
    assert first.find(f"{XSPF}duration").text == "245400" and first.find(f"{XSPF}trackNum").text == "3"
    second = items[1]
    assert second.find(f"{XSPF}title").text == "plain" and second.find(f"{XSPF}duration") is None
    assert second.find(f"{XSPF}creator") is None

    with pytest.raises(ValueError, match="does not exist"):  # a missing folder is never created
        write_playlist(tracks, tmp_path / "lists" / "mix.xspf")
    (tmp_path / "lists").mkdir()
    out = write_playlist(tracks, tmp_path / "lists" / "mix.XSPF", title="t")
    assert ET.parse(out).getroot().tag == f"{XSPF}playlist"
    m3u = write_playlist(tracks[:2], tmp_path / "lists" / "mix.m3u")
    assert m3u.read_text(encoding="utf-8").splitlines()[2] == tracks[0].path
    with pytest.raises(ValueError, match=r"\.m3u8, \.m3u or \.xspf"):
        write_playlist(tracks, tmp_path / "mix.txt")
    assert sorted(p.name for p in (tmp_path / "lists").iterdir()) == ["mix.XSPF", "mix.m3u"]
