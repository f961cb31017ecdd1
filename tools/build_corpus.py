"""Build a realistic evaluation corpus of full-length music from Debian game-data packages.

Not GTZAN: a music library of whole songs (>= 60 s) from free game soundtracks that Debian ships, laid out the
way a user's library looks and described by ``corpus.json`` / ``corpus.tsv`` (genre labels, album, artist,
licence, sha256). Audio files stay byte-identical to the package (untagged files stay untagged); the only new
audio is the Frets on Fire mixes, where a song ships as separate stems (``song.ogg`` backing + ``guitar.ogg``)
and the library gets their sum as FLAC, what a listener hears.

Run with the main venv (mutagen, soundfile, numpy)::

    .venv/bin/python tools/build_corpus.py [--out DIR] [--cache DIR] [--packages PKG ...] [--sample N]

Needs ``apt-get`` (for ``apt-get download``, no root install) and ``dpkg-deb``. Re-running downloads nothing
twice (the .deb files stay in the cache) and, when nothing changed, rewrites nothing. What each source is and
why it carries its labels: ``docs/evaluation/corpus.md``.
"""

from __future__ import annotations

import argparse
import configparser
import fnmatch
import hashlib
import json
import logging
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import mutagen
import numpy as np
import soundfile as sf

log = logging.getLogger("build_corpus")

FORMAT_VERSION = 1
MIN_SECONDS = 60.0
AUDIO_EXTS = (".ogg", ".oga", ".opus", ".mp3", ".flac", ".wav")  # tracker modules (.mod/.xm/.it/.s3m) never match
SIDECAR_RE = re.compile(r"(/song\.ini|/album\.json|\.music|/Music/credits\.txt)$")
COPYRIGHT_RE = re.compile(r"^usr/share/doc/([^/]+)/copyright$")
FOF_STEMS = ("song.ogg", "guitar.ogg", "rhythm.ogg", "drums.ogg")  # song.ogg = backing track without the guitar
MIX_PEAK = 0.98  # a stem sum louder than this is scaled down (one gain for the whole song, no limiter)
DEFAULT_OUT = Path("~/musicsim-corpus")
DEFAULT_CACHE = Path("~/.cache/musicsim-corpus")


# ----------------------------------------------------------------------------------------------------------------
# Source descriptions


@dataclass(frozen=True)
class Labels:
    """What a listener would call the music: a primary genre (or "mixed"), all genres that apply, and why."""

    genre: str
    genres: tuple[str, ...]
    kind: str
    confidence: str  # high / medium / low
    basis: str


@dataclass(frozen=True)
class Rule:
    """An override for package paths matching ``pattern`` (a regex searched in the path)."""

    pattern: str
    labels: Labels | None = None
    licence: str | None = None
    licence_basis: str | None = None
    version_of: str | None = None  # the file (same source) this one is another version of: a near-duplicate
    version_note: str | None = None


@dataclass(frozen=True)
class Source:
    """One Debian package and how to turn its music into library files."""

    package: str
    slug: str  # the top folder in the library and the "source" column
    title: str
    labels: Labels
    include: str  # regex searched in the package path (or in the member name, for archives)
    album: str  # the album name when nothing more specific is known
    exclude: str | None = None
    archive: str | None = None  # regex: look inside this .zip/.pk3 instead of the package tree
    album_from_tags: bool = False  # the files' own album tags name real albums (several per package)
    stems: bool = False  # Frets on Fire song folders: mix the stems
    licence: str | None = None  # for free-form debian/copyright files: what they say, read by hand
    licence_basis: str | None = None
    rules: tuple[Rule, ...] = ()


def _labels(genre: str, genres: Iterable[str], kind: str, confidence: str, basis: str) -> Labels:
    return Labels(genre, tuple(genres), kind, confidence, basis)


SOURCES: tuple[Source, ...] = (
    Source(
        "fretsonfire-songs-muldjord", "fretsonfire-muldjord", "Frets on Fire songs by Muldjord",
        _labels("metal", ["metal", "death metal"], "band", "high",
                "every file is tagged genre 'Death Metal'; debian/copyright: 'composed by El Senator of the danish "
                "metal band Muldjord'"),
        include=r"fretsonfire/data/songs/.+\.ogg$", album="Muldjord (Frets on Fire songs)", stems=True,
        licence="CC-BY-SA-3.0", licence_basis="debian/copyright (free-form): songs (c) 2009 El Senator, CC BY-SA 3.0"),
    Source(
        "fretsonfire-songs-sectoid", "fretsonfire-sectoid", "Frets on Fire songs by Sectoid",
        _labels("metal", ["metal", "rock"], "band", "medium",
                "song titles ('Metal madness', 'War of freedom', 'Escape from chaosland'); Frets on Fire is a "
                "guitar-rock game; neither song.ini nor the tags give a genre"),
        include=r"fretsonfire/data/songs/.+\.ogg$", album="Sectoid (Frets on Fire songs)", stems=True,
        licence="Expat", licence_basis="debian/copyright (free-form): (c) 2006/2007 Carlos Viola Iborra, MIT terms"),
    Source(
        "wesnoth-1.16-music", "wesnoth", "The Battle for Wesnoth",
        _labels("classical", ["classical", "orchestral", "soundtrack"], "orchestral", "high",
                "31 of the 32 files are tagged 'Romantic Classical' (album 'The Battle for Wesnoth OST'); Wesnoth's "
                "score is known as orchestral fantasy music"),
        include=r"data/core/music/.+\.ogg$", album="The Battle for Wesnoth OST",
        licence="GPL-2+", licence_basis="debian/copyright (free-form): the whole of Wesnoth is GPL-2+"),
    Source(
        "0ad-data", "0ad", "0 A.D.",
        _labels("world", ["world", "orchestral", "soundtrack"], "orchestral", "medium",
                "a historical strategy game whose score (mostly Omri Lahav) pairs orchestra with the instruments of "
                "each civilisation; track names name them (Nile, Indus, Celtica, Taiko, Sparta)"),
        include=r"^audio/music/.+\.ogg$", archive=r"mods/public/public\.zip$", album="0 A.D.",
        rules=(
            Rule(r"0_8Bit_Bonus_Track", _labels("chiptune", ["chiptune", "electronic"], "electronic", "low",
                                                "file name '8Bit Bonus Track'")),
            Rule(r"/Taiko_\d", _labels("world", ["world", "percussion"], "percussion", "low",
                                       "file name: taiko (Japanese drum ensemble)")),
        )),
    Source(
        "megaglest-data", "megaglest", "MegaGlest",
        _labels("mixed", ["orchestral", "world", "soundtrack"], "mixed", "low",
                "one theme per faction (Egypt, India, Norse, Persia, Rome, magic, tech) plus the menu; only "
                "romans.ogg carries a genre tag ('Classical')"),
        include=r"/music/.+\.ogg$", album="MegaGlest"),  # tileset night ambiences live under sounds/: not music
    Source(
        "supertuxkart-data", "supertuxkart", "SuperTuxKart",
        _labels("mixed", ["electronic", "pop", "rock", "orchestral", "soundtrack"], "mixed", "low",
                "kart-racing music by a dozen composers, one track per race course; a few files carry genre tags "
                "('Electronic', 'Psychedelic')"),
        include=r"data/(music|tracks/[^/]+)/[^/]+\.ogg$", album="SuperTuxKart",
        rules=(Rule(r"/celtic\.ogg$", _labels("folk", ["folk", "celtic"], "acoustic", "low",
                                              "title 'Scottish bagpipes' (celtic.music)")),)),
    Source(
        "supertux-data", "supertux", "SuperTux",
        _labels("mixed", ["soundtrack", "pop", "orchestral", "chiptune"], "mixed", "low",
                "platformer music by many composers, grouped by game world (forest, antarctic, castle, retro); "
                "tags say only 'Soundtrack'"),
        include=r"supertux2/music/.+\.ogg$", album="SuperTux",
        rules=(Rule(r"/chipdisko\.ogg$", _labels("chiptune", ["chiptune", "electronic"], "electronic", "low",
                                                  "title 'Mortimer's Chipdisko'")),)),
    Source(
        "freedroidrpg-data", "freedroidrpg", "FreedroidRPG",
        _labels("electronic", ["electronic", "ambient"], "electronic", "medium",
                "sci-fi RPG; the tagged files are electronic (tags 'ambient', 'dnb'; two come from the kahvi.org "
                "electronica netlabel, others are by Arvid Picciani)"),
        include=r"sound/music/.+\.ogg$", album="FreedroidRPG",
        rules=(Rule(r"/TechBattle\.ogg$", version_of="AmbientBattle.ogg",
                    version_note="the same music in another mix (waveform correlation 0.78 over 40 s)"),)),
    Source(
        "hedgewars-data", "hedgewars", "Hedgewars",
        _labels("mixed", ["soundtrack"], "mixed", "low",
                "one track per map theme (pirate, oriental, Halloween, rock, castle, jungle, snow...), each in the "
                "theme's style: no single genre"),
        include=r"Data/Music/.+\.ogg$", album="Hedgewars",
        rules=(Rule(r"Data/Music/", licence="GPL-2",
                    licence_basis="debian/copyright 'Files: *' (Data/Music has no stanza of its own)"),)),
    Source(
        "warzone2100-music", "warzone2100", "Warzone 2100",
        _labels("electronic", ["electronic", "ambient", "soundtrack"], "electronic", "low",
                "three albums (album.json): the 1999 OST by Martin Severn and two long-form community albums by "
                "LupusMechanicus (2020, 2021) for a post-apocalyptic RTS: synthesised, atmospheric music"),
        include=r"warzone2100/music/.+\.opus$", album="Warzone 2100",
        rules=(
            Rule(r"albums/legacy_soundtrack/", licence="CC-BY-SA-3.0+ or GPL-2+",
                 licence_basis="albums/legacy_soundtrack/license.txt"),
            Rule(r"albums/aftermath_soundtrack/(?!track3_enhanced)", licence="CC-BY-SA-3.0+ or GPL-2+",
                 licence_basis="albums/aftermath_soundtrack/license.txt"),
            Rule(r"albums/aftermath_soundtrack/track3_enhanced", licence="GPL-2+",
                 licence_basis="albums/aftermath_soundtrack/license.txt (derived from the original track 3)",
                 version_of="track3.opus", version_note="remake of the 1999 track 3 (license.txt)"),
            Rule(r"/menu_enhanced\.opus$", version_of="menu.opus",
                 version_note="extended version of menu.opus (the opening correlates at 0.98)"),
        )),
    Source(
        "nexuiz-music", "nexuiz", "Nexuiz",
        _labels("electronic", ["electronic"], "electronic", "medium",
                "arena-shooter soundtrack by electronic musicians (elysis, blkrbt, Parapraxis; one file tagged "
                "'Electronic')"),
        include=r"^sound/cdtracks/.+\.ogg$", archive=r"music\.pk3$", album="Nexuiz",
        rules=(Rule(r"/sixtyfour_revisited\.ogg$", version_of="sixtyfour_.ogg",
                    version_note="title; shares material with sixtyfour_.ogg (waveform correlation 0.30)"),),
        licence="GPL-2+", licence_basis="debian/copyright (free-form): Nexuiz (c) Alientrap, GPL-2+"),
    Source(
        "ufoai-music", "ufoai", "UFO: Alien Invasion",
        _labels("mixed", ["orchestral", "electronic", "ambient", "soundtrack"], "mixed", "low",
                "strategy-game score from several composers (Crystan, Psymong, Vanethian, Marine, David...), "
                "orchestral and electronic"),
        include=r"^music/.+\.ogg$", exclude=r"dynamictest", archive=r"0music\.pk3$", album="UFO: Alien Invasion"),
    Source(
        "singularity-music", "singularity", "Endgame: Singularity",
        _labels("electronic", ["electronic", "ambient"], "electronic", "medium",
                "all tracks by Maxstack, made in the Psycle and Renoise trackers (package README); two albums in the "
                "tags (Original Soundtrack, Advanced Research)"),
        include=r"singularity/music/.+\.ogg$", album="Endgame: Singularity", album_from_tags=True,
        licence="CC-BY-SA-3.0", licence_basis="debian/copyright and README: CC BY-SA 3.0"),
    Source(
        "naev-data", "naev", "Naev",
        _labels("mixed", ["electronic", "ambient", "orchestral", "soundtrack"], "mixed", "low",
                "space-trading game music from many artists (Vega Strike soundtrack, Askyel, Nikola Whallon, "
                "Zeropage...): ambient, electronic and orchestral"),
        include=r"dat/snd/music/.+\.ogg$", album="Naev",
        rules=(Rule(r"/ambient2_5\.ogg$", version_of="ambient2.ogg",
                    version_note="title; shares material with ambient2.ogg (waveform correlation 0.23)"),)),
    Source(
        "openclonk-data", "openclonk", "OpenClonk",
        _labels("mixed", ["soundtrack"], "mixed", "medium",
                "all eight tracks by Martin Strohmeier (K-Pone), six tagged with distinct genres (House, Reggae, "
                "Ambient, Rock, Rock, Orchestral)"),
        include=r"Music\.ocg/.+\.ogg$", album="OpenClonk",
        licence="ISC / CC-BY-3.0 / CC0 (not stated per file)",
        licence_basis="debian/copyright (free-form): engine ISC; 'some files belonging to the game content are "
                      "licensed under CC-BY-3.0 or CC0'"),
    Source(
        "widelands-data", "widelands", "Widelands",
        _labels("mixed", ["orchestral", "folk", "soundtrack"], "mixed", "low",
                "settlement-game soundtrack, mostly orchestral/folk sketches ('Renaissance Village', 'Castlesketch') "
                "plus three thrash-metal tracks by MiddleFinger (tagged)"),
        include=r"data/music/.+\.ogg$", album="Widelands"),
    Source(
        "colobot-common-sounds", "colobot", "Colobot",
        _labels("mixed", ["electronic", "soundtrack"], "mixed", "low",
                "two albums in the tags: Daniel Roux's 2001 'CoLoBoT - Original Soundtrack' and Emxx52's 'Colobot: "
                "Gold Edition'; sci-fi programming game"),
        include=r"colobot/music/.+\.ogg$", album="Colobot", album_from_tags=True,
        rules=(Rule(r"/music013\.ogg$", _labels("jazz", ["jazz"], "band", "low", "title 'Jazz Buzzing EasterEgg'")),)),
    Source(
        "flare-game", "flare", "Flare",
        _labels("classical", ["orchestral", "classical", "soundtrack"], "orchestral", "medium",
                "dark-fantasy action RPG; the credits name the composers Brandon Morris and remaxim (orchestral "
                "fantasy themes: battle, boss, cave, dungeon, forest, town)"),
        include=r"fantasycore/music/.+\.ogg$", album="Flare"),
)

# File genre tags that say something about the sound, mapped onto the labels above. Tags such as 'Soundtrack',
# 'Game', 'VGM', 'Sound FX' or 'Other' are ignored: they name the use, not the style.
TAG_GENRES: dict[str, tuple[str, tuple[str, ...], str]] = {
    "death metal": ("metal", ("metal", "death metal"), "band"),
    "thrash metal": ("metal", ("metal", "thrash metal"), "band"),
    "trash metal": ("metal", ("metal", "thrash metal"), "band"),
    "rock": ("rock", ("rock",), "band"),
    "classical": ("classical", ("classical", "orchestral"), "orchestral"),
    "romantic classical": ("classical", ("classical", "orchestral"), "orchestral"),
    "orchestral": ("classical", ("orchestral", "classical"), "orchestral"),
    "electronic": ("electronic", ("electronic",), "electronic"),
    "house": ("electronic", ("electronic", "house"), "electronic"),
    "dnb": ("electronic", ("electronic", "drum and bass"), "electronic"),
    "psychedelic": ("electronic", ("electronic", "psytrance"), "electronic"),
    "ambient": ("ambient", ("ambient", "electronic"), "electronic"),
    "reggae": ("reggae", ("reggae",), "band"),
    "folk": ("folk", ("folk",), "acoustic"),
}


# ----------------------------------------------------------------------------------------------------------------
# Records


@dataclass
class Candidate:
    """An audio file found in a package, extracted to a temporary file."""

    package_path: str  # path in the package; "archive!member" for files inside a .zip/.pk3
    temp: Path
    duration: float
    tags: dict[str, str]


@dataclass
class Stanza:
    """One ``Files:`` paragraph of a machine-readable debian/copyright file."""

    patterns: list[str]
    copyright: str
    licence: str


@dataclass
class PackageScan:
    """What one pass over a .deb found: audio candidates, metadata sidecars and the copyright text."""

    package: str
    version: str
    candidates: list[Candidate] = field(default_factory=list)
    sidecars: dict[str, str] = field(default_factory=dict)
    copyright: str = ""
    short: int = 0  # audio files under MIN_SECONDS
    unreadable: int = 0


@dataclass
class Row:
    """One library file, as written to corpus.json / corpus.tsv."""

    path: str
    source: str
    package: str
    version: str
    package_path: str
    album: str
    artist: str | None
    artist_basis: str | None
    title: str | None
    genre: str
    genres: list[str]
    kind: str
    label_confidence: str
    label_basis: str
    file_tags: dict[str, str]
    duration_s: float
    size: int
    sha256: str
    licence: str
    licence_basis: str
    derived: dict[str, Any] | None = None
    version_of: str | None = None  # file name of the other version (same source): a near-duplicate pair
    version_note: str | None = None


# ----------------------------------------------------------------------------------------------------------------
# Downloading


def require_tools() -> None:
    """Fail early, and clearly, where the Debian tools are missing."""
    missing = [tool for tool in ("apt-get", "dpkg-deb") if shutil.which(tool) is None]
    if missing:
        raise SystemExit(f"build_corpus: {' and '.join(missing)} not found. This tool needs a Debian/Ubuntu system "
                         "(apt-get download fetches the packages, dpkg-deb unpacks them); no root install is needed.")


def deb_field(deb: Path, name: str) -> str:
    """A control field (Package, Version...) of a .deb file."""
    return subprocess.run(["dpkg-deb", "-f", str(deb), name], check=True, capture_output=True, text=True).stdout.strip()


def cached_deb(package: str, debs: Path) -> Path | None:
    """The newest cached .deb of ``package``, if any (file names are ``package_version_arch.deb``)."""
    found = sorted(debs.glob(f"{package}_*.deb"), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


def download(package: str, debs: Path) -> tuple[Path, float | None]:
    """The package's .deb in the cache, downloaded with ``apt-get download`` unless already there.

    Returns the path and the download time in seconds (None when it came from the cache).
    """
    debs.mkdir(parents=True, exist_ok=True)
    deb = cached_deb(package, debs)
    if deb is not None:
        log.info("%s: cached %s", package, deb.name)
        return deb, None
    log.info("%s: apt-get download ...", package)
    start = time.monotonic()
    proc = subprocess.run(["apt-get", "download", package], cwd=debs, capture_output=True, text=True)
    seconds = time.monotonic() - start
    deb = cached_deb(package, debs)
    if proc.returncode != 0 or deb is None:
        raise SystemExit(f"build_corpus: apt-get download {package} failed ({proc.returncode}):\n"
                         f"{proc.stderr.strip()}\n"
                         "Is the package in your apt sources (apt-cache policy), and was apt-get update run?")
    log.info("%s: %.1f MB in %.1f s (%.1f MB/s)", package, deb.stat().st_size / 1e6, seconds,
             deb.stat().st_size / 1e6 / max(seconds, 1e-3))
    return deb, seconds


# ----------------------------------------------------------------------------------------------------------------
# Scanning a package


def is_audio(name: str) -> bool:
    return name.lower().endswith(AUDIO_EXTS)


def wanted(source: Source, name: str) -> bool:
    """Whether a path (or archive member) is music this source takes."""
    if not is_audio(name) or not re.search(source.include, name):
        return False
    return source.exclude is None or not re.search(source.exclude, name)


def read_tags(path: Path) -> dict[str, str]:
    """The file's own artist/album/title/genre tags (what a music library would show), joined with ' / '."""
    try:
        audio = mutagen.File(path, easy=True)
    except Exception as exc:  # noqa: BLE001 - mutagen raises many types on odd files; tags are optional
        log.debug("%s: no tags (%s)", path, exc)
        return {}
    if audio is None or audio.tags is None:
        return {}
    out = {}
    for key in ("artist", "album", "title", "genre"):
        try:
            values = audio.tags.get(key) or []
        except (KeyError, ValueError):
            values = []
        text = " / ".join(str(v).strip() for v in values if str(v).strip())
        if text:
            out[key] = text
    return out


def duration_of(path: Path) -> float | None:
    """Seconds of audio: mutagen's header value, else libsndfile's (which decodes what mutagen cannot)."""
    try:
        audio = mutagen.File(path)
        if audio is not None and audio.info is not None and audio.info.length > 0:
            return float(audio.info.length)
    except Exception as exc:  # noqa: BLE001 - fall back to soundfile
        log.debug("%s: mutagen failed (%s)", path, exc)
    try:
        return float(sf.info(str(path)).duration)
    except (RuntimeError, sf.LibsndfileError) as exc:
        log.warning("%s: unreadable (%s)", path, exc)
        return None


def is_stem(source: Source, name: str) -> bool:
    return source.stems and name.rpartition("/")[2].lower() in FOF_STEMS


def keep_candidate(scan: PackageScan, package_path: str, temp: Path, keep_short: bool) -> None:
    """Add an extracted audio file to the scan if it is long enough (or ``keep_short``); delete it otherwise."""
    seconds = duration_of(temp)
    if seconds is None:
        scan.unreadable += 1
    elif seconds < MIN_SECONDS and not keep_short:
        scan.short += 1
    else:
        scan.candidates.append(Candidate(package_path, temp, seconds, read_tags(temp)))
        return
    temp.unlink()


def write_temp(stream: IO[bytes], work: Path, name: str) -> Path:
    """Copy a stream into a new file under ``work``, keeping the extension (mutagen/libsndfile look at it)."""
    suffix = Path(name).suffix
    fd, temp = tempfile.mkstemp(dir=work, suffix=suffix)
    with open(fd, "wb") as out:
        shutil.copyfileobj(stream, out, 1 << 20)
    return Path(temp)


def scan_archive(source: Source, scan: PackageScan, archive_path: str, stream: IO[bytes], work: Path) -> None:
    """Take the wanted members of a .zip/.pk3 shipped inside the package."""
    archive = write_temp(stream, work, archive_path)
    try:
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                if info.is_dir() or not wanted(source, info.filename):
                    continue
                with zf.open(info) as member:
                    temp = write_temp(member, work, info.filename)
                keep_candidate(scan, f"{archive_path}!{info.filename}", temp, keep_short=False)
    finally:
        archive.unlink()


def scan_package(source: Source, deb: Path, work: Path) -> PackageScan:
    """One streaming pass over the .deb's file tree: audio candidates, sidecars and debian/copyright."""
    scan = PackageScan(source.package, deb_field(deb, "Version"))
    proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
        for member in tar:
            name = member.name.removeprefix("./")
            if not member.isfile():
                if (member.issym() or member.islnk()) and source.archive is None and wanted(source, name):
                    log.info("%s: %s is a link to %s: skipped", source.package, name, member.linkname)
                continue
            stream = tar.extractfile(member)
            assert stream is not None
            copyright_match = COPYRIGHT_RE.match(name)
            if copyright_match and copyright_match.group(1) == source.package:
                scan.copyright = stream.read().decode("utf-8", "replace")
            elif SIDECAR_RE.search(name) and member.size < 256 * 1024:
                scan.sidecars[name] = stream.read().decode("utf-8", "replace")
            elif source.archive is not None and re.search(source.archive, name):
                scan_archive(source, scan, name, stream, work)
            elif source.archive is None and wanted(source, name):
                # stems are judged by the length of their mix
                keep_candidate(scan, name, write_temp(stream, work, name), keep_short=is_stem(source, name))
    if proc.wait() != 0:
        raise SystemExit(f"build_corpus: dpkg-deb --fsys-tarfile {deb} failed ({proc.returncode})")
    log.info("%s %s: %d audio files >= %.0f s, %d shorter skipped, %d unreadable", scan.package, scan.version,
             len(scan.candidates), MIN_SECONDS, scan.short, scan.unreadable)
    return scan


# ----------------------------------------------------------------------------------------------------------------
# Metadata: sidecars, debian/copyright


def clean_artist(text: str | None) -> str | None:
    """An artist name without URLs, 'Composed and performed by' and placeholders."""
    if not text:
        return None
    text = re.sub(r"^composed and performed by\s+", "", text.strip(), flags=re.I)
    text = re.sub(r"\s+-\s+(www\.|https?://)\S+$", "", text)
    if text.lower() in {"", "<unknown>", "unknown"} or re.match(r"^(www\.|https?://)", text):
        return None
    return text


def parse_song_ini(text: str) -> dict[str, str]:
    """A Frets on Fire song.ini's [song] section (name, artist, sometimes genre/year)."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text)
    except configparser.Error:
        return {}
    return dict(parser["song"]) if parser.has_section("song") else {}


def sidecar_metadata(scan: PackageScan) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """Per-file metadata from the package's own descriptions, keyed by package path (lower-cased).

    Reads Frets on Fire song.ini, Warzone 2100 album.json, SuperTuxKart .music XML and Hedgewars credits.txt.
    Returns the metadata (title/artist/album/genre keys) and the last-lap "fast" variants to leave out (path ->
    the path of the normal version).
    """
    meta: dict[str, dict[str, str]] = {}
    variants: dict[str, str] = {}
    for path, text in scan.sidecars.items():
        folder = path.rsplit("/", 1)[0]
        if path.endswith("/song.ini"):
            ini = parse_song_ini(text)
            entry = {k: v for k, v in (("title", ini.get("name")), ("artist", ini.get("artist")),
                                       ("genre", ini.get("genre")), ("year", ini.get("year"))) if v}
            meta[f"{folder}/".lower()] = entry  # applies to the whole song folder (all stems)
        elif path.endswith("/album.json"):
            album_metadata(folder, text, meta)
        elif path.endswith(".music"):
            music_xml_metadata(folder, text, meta, variants)
        elif path.endswith("/credits.txt"):
            for line in text.splitlines():
                name, sep, artist = line.partition("=")
                if sep and name.strip():
                    meta[f"{folder}/{name.strip()}".lower()] = {"artist": artist.strip()}
    return meta, variants


def album_metadata(folder: str, text: str, meta: dict[str, dict[str, str]]) -> None:
    """A Warzone 2100 album.json: album title, author and per-track titles."""
    try:
        album = json.loads(text)
    except json.JSONDecodeError:
        return
    for track in album.get("tracks", []):
        entry = {"album": album.get("title"), "artist": track.get("author") or album.get("author"),
                 "title": track.get("title")}
        meta[f"{folder}/{track.get('filename', '')}".lower()] = {k: v for k, v in entry.items() if v}


def music_xml_metadata(folder: str, text: str, meta: dict[str, dict[str, str]], variants: dict[str, str]) -> None:
    """A SuperTuxKart .music file: title, composer, and the fast (last-lap) variant's file name."""
    try:
        node = ET.fromstring(text.strip())
    except ET.ParseError:
        return  # SuperTux's .music files are s-expressions without titles
    file_name = node.get("file")
    if node.tag != "music" or not file_name:
        return
    entry = {"title": node.get("title"), "artist": node.get("composer")}
    meta[f"{folder}/{file_name}".lower()] = {k: v for k, v in entry.items() if v}
    if node.get("fast-filename"):
        variants[f"{folder}/{node.get('fast-filename')}".lower()] = f"{folder}/{file_name}"


def lookup_meta(meta: dict[str, dict[str, str]], package_path: str) -> dict[str, str]:
    """Sidecar metadata for a file: its own entry, else its folder's (song.ini)."""
    key = package_path.lower()
    return meta.get(key) or meta.get(key.rsplit("/", 1)[0] + "/") or {}


def parse_dep5(text: str) -> list[Stanza] | None:
    """The ``Files:`` stanzas of a machine-readable debian/copyright file, or None for free-form files."""
    if not re.match(r"\s*Format:", text):
        return None
    stanzas = []
    for paragraph in re.split(r"\n[ \t]*\n", text):
        fields: dict[str, str] = {}
        key = None
        for line in paragraph.splitlines():
            if line[:1] in (" ", "\t") and key:
                fields[key] += "\n" + line.strip()
            elif ":" in line:
                key, _, value = line.partition(":")
                key = key.strip().lower()
                fields[key] = value.strip()
        if "files" in fields:
            stanzas.append(Stanza(fields["files"].split(), fields.get("copyright", "").strip(),
                                  fields.get("license", "").split("\n")[0].strip()))
    return stanzas


def match_stanza(stanzas: list[Stanza], package_path: str) -> tuple[Stanza, str] | None:
    """The stanza that covers a file (the last match wins, as DEP-5 says) and the pattern that matched.

    Patterns are paths in the *source* tree; an installed path matches when one of its tails does (so
    ``data/music/*`` covers ``usr/share/games/x/data/music/a.ogg``). Files inside archives are matched as if
    the archive were unpacked where it lies.
    """
    path = package_path
    if "!" in path:
        archive, member = path.split("!", 1)
        path = f"{archive.rsplit('/', 1)[0]}/{member}"
    parts = path.split("/")
    tails = ["/".join(parts[i:]) for i in range(len(parts))]
    found = None
    for stanza in stanzas:
        for pattern in stanza.patterns:
            pattern = pattern.removeprefix("./")
            if any(fnmatch.fnmatchcase(tail, pattern) for tail in tails):
                found = (stanza, pattern)
                break
    return found


def holder_name(copyright_text: str) -> str | None:
    """A single copyright holder's name (years and e-mail addresses dropped), or None for several or none."""
    lines = [line for line in copyright_text.splitlines() if line.strip()]
    if len(lines) != 1:
        return None
    name = re.sub(r"<[^>]*>|\(https?://[^)]*\)|^\s*(\(c\)|©)?\s*[\d\s,\-–]*", "", lines[0]).strip(" ,")
    return name or None


def licence_of(source: Source, scan: PackageScan, stanzas: list[Stanza] | None,
               package_path: str) -> tuple[str, str, str | None]:
    """The file's licence, where that was read, and the copyright holder when the stanza names just one."""
    for rule in source.rules:
        if rule.licence and re.search(rule.pattern, package_path):
            return rule.licence, rule.licence_basis or "tools/build_corpus.py rule", None
    if stanzas is not None:
        match = match_stanza(stanzas, package_path)
        if match is not None:
            stanza, pattern = match
            # a holder names the artist only where the stanza lists files one by one (not 'data/music/*')
            holder = holder_name(stanza.copyright) if not re.search(r"[*?]", pattern) else None
            return stanza.licence, f"debian/copyright 'Files: {pattern}'", holder
    if source.licence:
        return source.licence, source.licence_basis or "debian/copyright", None
    return "unknown", "no licence found in debian/copyright", None


# ----------------------------------------------------------------------------------------------------------------
# Labels, albums, names


def labels_for(source: Source, package_path: str, tag_genre: str | None, sidecar_genre: str | None) -> Labels:
    """The file's labels: a source rule, else an informative genre tag or song.ini genre, else the source's."""
    for rule in source.rules:
        if rule.labels and re.search(rule.pattern, package_path):
            return rule.labels
    for origin, text in (("song.ini genre", sidecar_genre), ("file genre tag", tag_genre)):
        mapped = TAG_GENRES.get((text or "").strip().lower())
        if mapped:
            genre, genres, kind = mapped
            confidence = "high" if source.labels.genre == genre else "medium"
            return Labels(genre, genres, kind, confidence, f"{origin} '{text}'")
    return source.labels


def album_for(source: Source, tags: dict[str, str], sidecar: dict[str, str]) -> str:
    """The album: the package's own album.json, else the file's album tag where the source has real albums."""
    if sidecar.get("album"):
        return sidecar["album"]
    if source.album_from_tags and tags.get("album"):
        return tags["album"]
    return source.album


def safe_name(text: str) -> str:
    """A file/folder name that works on every desktop OS."""
    text = text.replace(": ", " - ")
    text = re.sub(r'[<>:"/\\|?*\x00-\x1f]', "_", text).strip(" .")
    return text or "_"


# ----------------------------------------------------------------------------------------------------------------
# Frets on Fire stems


def stem_groups(candidates: list[Candidate]) -> tuple[dict[str, list[Candidate]], list[Candidate]]:
    """Frets on Fire song folders (folder -> stems, song.ogg first) and the files that are not stems."""
    groups: dict[str, list[Candidate]] = {}
    rest = []
    for cand in candidates:
        folder, _, name = cand.package_path.rpartition("/")
        if name.lower() in FOF_STEMS:
            groups.setdefault(folder, []).append(cand)
        else:
            rest.append(cand)
    for folder in list(groups):
        if len(groups[folder]) == 1:  # a lone song.ogg is the song itself
            rest += groups.pop(folder)
        else:
            groups[folder].sort(key=lambda c: FOF_STEMS.index(c.package_path.rpartition("/")[2].lower()))
    return groups, rest


def mix_stems(stems: list[Candidate], dest: Path) -> dict[str, Any]:
    """Sum the stems into a 16-bit FLAC at ``dest`` (scaled down only if the sum would clip).

    The first stem's tags (song.ogg's) are copied into the FLAC, so tagged songs stay tagged and untagged ones
    stay untagged. Returns the ``derived`` record of corpus.json.
    """
    signals = []
    rate = None
    for stem in stems:
        data, sr = sf.read(str(stem.temp), dtype="float32", always_2d=True)
        if rate not in (None, sr):
            raise SystemExit(f"build_corpus: stems of {stem.package_path} differ in sample rate")
        rate = sr
        signals.append(data if data.shape[1] == 2 else np.repeat(data[:, :1], 2, axis=1))
    length = max(len(s) for s in signals)
    mix = np.zeros((length, 2), dtype=np.float64)
    for s in signals:
        mix[: len(s)] += s
    peak = float(np.abs(mix).max())
    gain = min(1.0, MIX_PEAK / peak) if peak > 0 else 1.0
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_suffix(".partial.flac")
    sf.write(str(partial), (mix * gain).astype(np.float32), rate, format="FLAC", subtype="PCM_16")
    copy_tags(stems[0].temp, partial)
    partial.replace(dest)
    return {"method": "sum of the Frets on Fire stems, written as FLAC (16-bit)",
            "note": "song.ogg is the backing track without the lead guitar, guitar.ogg the guitar (rhythm.ogg, "
                    "drums.ogg where present); the library file is their sum, what the game plays",
            "gain": round(gain, 4), "stem_sum_peak": round(peak, 4),
            "stems": [{"package_path": s.package_path, "sha256": sha256_of(s.temp)} for s in stems]}


def reuse_mix(previous: dict[str, Any] | None, stems: list[Candidate], dest: Path) -> dict[str, Any] | None:
    """The earlier run's ``derived`` record if ``dest`` is still the mix of these very stems."""
    if not previous or not previous.get("derived") or not dest.is_file():
        return None
    old_stems = [s["sha256"] for s in previous["derived"].get("stems", [])]
    if old_stems != [sha256_of(s.temp) for s in stems] or sha256_of(dest) != previous["sha256"]:
        return None
    return previous["derived"]


def copy_tags(source_file: Path, flac_file: Path) -> None:
    """Copy an Ogg Vorbis file's comments into a FLAC file, as they are."""
    src = mutagen.File(source_file)
    if src is None or not src.tags:
        return
    dst = mutagen.File(flac_file)
    for key, value in src.tags.items():
        dst[key] = value
    dst.save()


# ----------------------------------------------------------------------------------------------------------------
# Building rows and files


def sha256_of(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def place(temp: Path, dest: Path, digest: str) -> None:
    """Move an extracted file to its library path unless an identical file is already there."""
    if dest.exists() and dest.stat().st_size == temp.stat().st_size and sha256_of(dest) == digest:
        temp.unlink()
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(temp), dest)


def unique_name(name: str, folder: str, used: set[str]) -> str:
    """``name``, or ``<parent folder> - name`` when an album already has a file called ``name``."""
    if name.lower() not in used:
        return name
    return f"{safe_name(Path(folder).name)} - {name}"


@dataclass
class Item:
    """A file about to enter the library: where its audio is now and what is known about it."""

    package_path: str
    temp: Path
    file_name: str
    duration: float
    tags: dict[str, str]
    sidecar: dict[str, str]
    stems: list[Candidate] | None = None


def items_of(scan: PackageScan, source: Source, variants: dict[str, str],
             meta: dict[str, dict[str, str]]) -> list[Item]:
    """The scan's files as library items: stems grouped per song, fast variants dropped."""
    items = []
    groups, rest = stem_groups(scan.candidates) if source.stems else ({}, scan.candidates)
    for folder, stems in sorted(groups.items()):
        if max(s.duration for s in stems) < MIN_SECONDS:
            scan.short += 1
            continue
        sidecar = lookup_meta(meta, stems[0].package_path)
        title = sidecar.get("title") or stems[0].tags.get("title") or Path(folder).name
        items.append(Item(f"{folder}/", stems[0].temp, f"{safe_name(title)}.flac", max(s.duration for s in stems),
                          stems[0].tags, sidecar, stems))
    for cand in sorted(rest, key=lambda c: c.package_path):
        if cand.duration < MIN_SECONDS:  # a lone short stem
            scan.short += 1
            continue
        if cand.package_path.lower() in variants:
            log.info("%s: %s is the fast variant of %s: skipped", source.package, cand.package_path,
                     variants[cand.package_path.lower()])
            cand.temp.unlink()
            continue
        items.append(Item(cand.package_path, cand.temp, safe_name(cand.package_path.rsplit("/", 1)[-1].split("!")[-1]),
                          cand.duration, cand.tags, lookup_meta(meta, cand.package_path)))
    return items


def sample_items(items: list[Item], digests: dict[str, str], n: int | None) -> list[Item]:
    """At most ``n`` items, a fixed pseudo-random choice (lowest sha256 first), in their original order."""
    if n is None or len(items) <= n:
        return items
    chosen = {id(it) for it in sorted(items, key=lambda it: digests[it.package_path])[:n]}
    return [it for it in items if id(it) in chosen]


def build_row(source: Source, scan: PackageScan, stanzas: list[Stanza] | None, item: Item, rel: str,
              digest: str, size: int, derived: dict[str, Any] | None) -> Row:
    """The corpus.json record of one library file."""
    check_path = item.stems[0].package_path if item.stems else item.package_path
    licence, licence_basis, holder = licence_of(source, scan, stanzas, check_path)
    labels = labels_for(source, check_path, item.tags.get("genre"), item.sidecar.get("genre"))
    artist, artist_basis = None, None
    for basis, value in (("package metadata", item.sidecar.get("artist")), ("file tag", item.tags.get("artist")),
                         ("debian/copyright", holder)):
        if clean_artist(value):
            artist, artist_basis = clean_artist(value), basis
            break
    title = item.sidecar.get("title") or item.tags.get("title")
    album = album_for(source, item.tags, item.sidecar)
    version = next((r for r in source.rules if r.version_of and re.search(r.pattern, check_path)), None)
    return Row(rel, source.slug, scan.package, scan.version, item.package_path, album, artist, artist_basis, title,
               labels.genre, list(labels.genres), labels.kind, labels.confidence, labels.basis, item.tags,
               round(item.duration, 2), size, digest, licence, licence_basis, derived,
               version.version_of if version else None, version.version_note if version else None)


def digest_items(items: list[Item]) -> dict[str, str]:
    """sha256 of each item's audio (for stems: of the stems, so duplicates and sampling work before mixing)."""
    out = {}
    for it in items:
        out[it.package_path] = (sha256_of(it.temp) if not it.stems else
                                hashlib.sha256("".join(sha256_of(s.temp) for s in it.stems).encode()).hexdigest())
    return out


def build_source(source: Source, deb: Path, out: Path, work: Path, sample: int | None, seen: dict[str, str],
                 duplicates: list[dict[str, str]], previous_rows: dict[str, dict[str, Any]]) -> list[Row]:
    """Scan one package and put its music into the library; returns its corpus rows.

    ``seen`` maps the sha256 of every file taken so far (all sources) to its origin: a file identical to one
    already taken is left out and listed in ``duplicates``.
    """
    scan = scan_package(source, deb, work)
    stanzas = parse_dep5(scan.copyright)
    meta, variants = sidecar_metadata(scan)
    items = items_of(scan, source, variants, meta)
    digests = digest_items(items)
    kept = []
    for it in items:
        first = seen.get(digests[it.package_path])
        if first is not None:
            duplicates.append({"sha256": digests[it.package_path], "kept": first,
                               "dropped": f"{scan.package}:{it.package_path}"})
            log.info("%s: %s is identical to %s: left out", scan.package, it.package_path, first)
            continue
        seen[digests[it.package_path]] = f"{scan.package}:{it.package_path}"
        kept.append(it)
    chosen = sample_items(kept, digests, sample)
    rows = []
    used: dict[str, set[str]] = {}
    for it in chosen:
        album = album_for(source, it.tags, it.sidecar)
        names = used.setdefault(album.lower(), set())
        file_name = unique_name(it.file_name, it.package_path.rstrip("/").rsplit("/", 1)[0], names)
        names.add(file_name.lower())
        rel = f"{source.slug}/{safe_name(album)}/{file_name}"
        derived = None
        if it.stems:
            derived = reuse_mix(previous_rows.get(rel), it.stems, out / rel) or mix_stems(it.stems, out / rel)
            digest = sha256_of(out / rel)
        else:
            digest = digests[it.package_path]
            place(it.temp, out / rel, digest)
        rows.append(build_row(source, scan, stanzas, it, rel, digest, (out / rel).stat().st_size, derived))
    for cand in scan.candidates:  # stems and sampled-out files
        cand.temp.unlink(missing_ok=True)
    return rows


# ----------------------------------------------------------------------------------------------------------------
# The corpus description


def fingerprint(sources: list[Source], sample: int | None) -> str:
    """A hash of everything that decides the corpus content apart from the packages themselves."""
    blob = json.dumps({"format": FORMAT_VERSION, "min_seconds": MIN_SECONDS, "sample": sample,
                       "sources": [asdict(s) for s in sources], "tag_genres": TAG_GENRES}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def load_previous(out: Path) -> dict[str, Any] | None:
    path = out / "corpus.json"
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        log.warning("%s is not valid JSON: rebuilding", path)
        return None


def reusable(previous: dict[str, Any] | None, fp: str, versions: dict[str, str], out: Path) -> bool:
    """Whether the library in ``out`` was built with the same settings and package versions, and is complete."""
    if not previous or previous.get("fingerprint") != fp:
        return False
    if {s["package"]: s["version"] for s in previous.get("sources", [])} != versions:
        return False
    return all((out / r["path"]).is_file() and (out / r["path"]).stat().st_size == r["size"]
               for r in previous.get("files", []))


def remove_stale(previous: dict[str, Any] | None, rows: list[Row], out: Path) -> None:
    """Delete library files an earlier run wrote that this run no longer wants (and empty folders)."""
    if not previous:
        return
    keep = {r.path for r in rows}
    for old in previous.get("files", []):
        path = out / old["path"]
        if old["path"] not in keep and path.is_file():
            log.info("removing %s (no longer in the corpus)", old["path"])
            path.unlink()
            for parent in path.parents:
                if parent == out or any(parent.iterdir()):
                    break
                parent.rmdir()


def source_summary(source: Source, version: str, rows: list[Row]) -> dict[str, Any]:
    """The per-source entry of corpus.json."""
    mine = [r for r in rows if r.source == source.slug]
    genres: dict[str, int] = {}
    for r in mine:
        genres[r.genre] = genres.get(r.genre, 0) + 1
    return {"source": source.slug, "package": source.package, "version": version, "title": source.title,
            "genre": source.labels.genre, "genres": list(source.labels.genres), "kind": source.labels.kind,
            "label_confidence": source.labels.confidence, "label_basis": source.labels.basis,
            "files": len(mine), "minutes": round(sum(r.duration_s for r in mine) / 60, 1),
            "file_genres": dict(sorted(genres.items())),
            "licences": sorted({r.licence for r in mine}), "albums": sorted({r.album for r in mine}),
            "other_versions": sorted(f"{r.title or r.path} ~ {r.version_of}" for r in mine if r.version_of)}


TSV_COLUMNS = ("path", "source", "package", "version", "album", "artist", "title", "genre", "genres", "kind",
               "label_confidence", "duration_s", "sha256", "licence", "derived", "version_of")


def write_corpus(out: Path, fp: str, sample: int | None, summaries: list[dict[str, Any]], rows: list[Row],
                 duplicates: list[dict[str, str]]) -> None:
    """corpus.json (everything) and corpus.tsv (one line per file, the columns evaluations filter on)."""
    doc = {"format": FORMAT_VERSION, "generated_by": "tools/build_corpus.py", "fingerprint": fp,
           "min_seconds": MIN_SECONDS, "sample": sample, "sources": summaries,
           "files": [asdict(r) for r in rows], "duplicates": duplicates}
    write_if_changed(out / "corpus.json", json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    lines = ["\t".join(TSV_COLUMNS)]
    for r in rows:
        values = asdict(r)
        values["genres"] = ",".join(r.genres)
        values["derived"] = "mix" if r.derived else ""
        lines.append("\t".join(clean_cell(values[c]) for c in TSV_COLUMNS))
    write_if_changed(out / "corpus.tsv", "\n".join(lines) + "\n")


def clean_cell(value: Any) -> str:
    return "" if value is None else re.sub(r"[\t\r\n]+", " ", str(value))


def write_if_changed(path: Path, text: str) -> None:
    if path.exists() and path.read_text() == text:
        return
    path.write_text(text)


def print_summary(summaries: list[dict[str, Any]], download_seconds: dict[str, float | None]) -> None:
    """A table per source: files, minutes, labels, licences, download time."""
    header = f"{'source':22} {'package':28} {'files':>5} {'min':>7}  {'labels':34} {'dl s':>6}  licences"
    print(header)
    print("-" * len(header))
    for s in summaries:
        seconds = download_seconds.get(s["package"])
        labels = f"{s['genre']} ({', '.join(s['genres'])})"
        print(f"{s['source']:22} {s['package']:28} {s['files']:5d} {s['minutes']:7.1f}  {labels[:34]:34} "
              f"{'cached' if seconds is None else f'{seconds:.1f}':>6}  {'; '.join(s['licences'])}")
    print("-" * len(header))
    print(f"{'total':51} {sum(s['files'] for s in summaries):5d} {sum(s['minutes'] for s in summaries):7.1f}")


# ----------------------------------------------------------------------------------------------------------------
# Entry point


def select_sources(packages: list[str] | None) -> list[Source]:
    """The sources named by --packages (package names or slugs), in the fixed order; all by default."""
    if not packages:
        return list(SOURCES)
    known = {s.package: s for s in SOURCES} | {s.slug: s for s in SOURCES}
    unknown = [p for p in packages if p not in known]
    if unknown:
        raise SystemExit(f"build_corpus: unknown package(s) {', '.join(unknown)}; known: "
                         f"{', '.join(s.package for s in SOURCES)}")
    wanted_sources = {known[p].package for p in packages}
    return [s for s in SOURCES if s.package in wanted_sources]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"library folder (default {DEFAULT_OUT})")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE,
                        help=f"download cache; .deb files go to CACHE/debs (default {DEFAULT_CACHE})")
    parser.add_argument("--packages", nargs="+", metavar="PKG", help="build only these packages (names or slugs)")
    parser.add_argument("--sample", type=int, metavar="N", help="at most N files per source (quick runs, tests)")
    parser.add_argument("--list", action="store_true", help="list the known sources and exit")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(message)s")
    if args.list:
        for s in SOURCES:
            print(f"{s.package:28} {s.slug:22} {s.labels.genre:10} {', '.join(s.labels.genres)}")
        return 0
    if args.sample is not None and args.sample < 1:
        raise SystemExit("build_corpus: --sample must be at least 1")
    require_tools()
    sources = select_sources(args.packages)
    out, cache = args.out.expanduser(), args.cache.expanduser()
    out.mkdir(parents=True, exist_ok=True)
    debs, download_seconds = {}, {}
    for source in sources:
        debs[source.package], download_seconds[source.package] = download(source.package, cache / "debs")
    versions = {p: deb_field(d, "Version") for p, d in debs.items()}
    fp = fingerprint(sources, args.sample)
    previous = load_previous(out)
    if reusable(previous, fp, versions, out):
        assert previous is not None
        log.info("%s is up to date (same packages, same settings): nothing to do", out)
        print_summary(previous["sources"], download_seconds)
        return 0
    rows: list[Row] = []
    seen: dict[str, str] = {}
    duplicates: list[dict[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="work-", dir=cache) as work:
        for source in sources:
            rows += build_source(source, debs[source.package], out, Path(work), args.sample, seen, duplicates,
                                 {r["path"]: r for r in (previous or {}).get("files", [])})
    remove_stale(previous, rows, out)
    summaries = [source_summary(s, versions[s.package], rows) for s in sources]
    write_corpus(out, fp, args.sample, summaries, rows, duplicates)
    print_summary(summaries, download_seconds)
    if duplicates:
        print(f"\n{len(duplicates)} exact duplicate(s) left out (sha256):")
        for d in duplicates:
            print(f"  {d['dropped']}  ==  {d['kept']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
