"""Issue 3, property tests: over generated names and JSON the reader never crashes and
accounts for every file of the export exactly once."""

from __future__ import annotations

import io
import json
import tarfile
import tempfile
import unicodedata
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from importer.config import TakeoutSettings
from importer.model import Accounted, MediaItem
from importer.sources.names import display_name
from importer.sources.sidecar import match_folder
from importer.sources.takeout import TakeoutSource
from tests.exportgen import unique_jpeg, unique_mp4

FOLDERS = ["Takeout/Google Photos/Photos from 2019", "Takeout/Google Photos/Trip",
           "Takeout/Google Photos/Archive", "Takeout/Google Photos/Trash",
           "Takeout/Google Photos", "Takeout/Google Fotos/Untitled(1)", "elsewhere"]
STEMS = ["IMG_1", "IMG_1(1)", "IMG_1-edited", "PXL_20230809_203449253.MP", "Café",
         unicodedata.normalize("NFD", "Café"), "Screenshot_20231027_123303_Facebook",
         "x" * 45, "IMG_0769", "a.b", "13039_1015131304655720_1547458226000000_n(1)"]
EXTENSIONS = ["", ".jpg", ".JPG", ".jpeg", ".heic", ".HEIC", ".mp4", ".MOV", ".png", ".txt",
              ".json", ".jpg.json", ".jpg.supplemental-metadata.json", ".jpg(1).json",
              ".jpg.supplemental-metad.json", ".s.json", ".supplemental-metadata.json",
              ".HEIC.json", "..json"]

names = st.builds(
    lambda stem, ext: (stem + ext)[:120] or "x",
    st.one_of(st.sampled_from(STEMS),
              st.text(st.characters(blacklist_characters="/\\\x00",
                                    blacklist_categories=("Cs",)), min_size=1, max_size=60)),
    st.sampled_from(EXTENSIONS),
).filter(lambda name: name.strip(".") != "")  # '.' and '..' name no file
geo = st.fixed_dictionaries({"latitude": st.one_of(st.floats(), st.integers(), st.text()),
                             "longitude": st.one_of(st.floats(), st.none())})
sidecars = st.fixed_dictionaries(
    {"photoTakenTime": st.one_of(st.fixed_dictionaries({"timestamp": st.one_of(
        st.just("0"), st.integers(-10**12, 10**12).map(str), st.text(max_size=5))}),
        st.text(max_size=3), st.none())},
    optional={"url": st.sampled_from(["https://photos.google.com/photo/A",
                                      "https://photos.google.com/photo/B", ""]),
              "title": st.one_of(names, st.integers()), "geoData": geo, "geoDataExif": geo,
              "favorited": st.booleans(), "archived": st.one_of(st.booleans(), st.text()),
              "trashed": st.booleans(), "people": st.lists(st.dictionaries(
                  st.just("name"), st.one_of(st.text(max_size=5), st.integers()))),
              "googlePhotosOrigin": st.sampled_from([{"fromPartnerSharing": {}}, {}, 3])})
json_bodies = st.one_of(
    sidecars.map(lambda d: json.dumps(d).encode()),
    st.fixed_dictionaries({"title": st.text(max_size=10)}).map(lambda d: json.dumps(d).encode()),
    st.just(b'{"albumData": {"title": "Old", "date": {"timestamp": "12"}}}'),
    st.just(b'{"externalOrderId": "1"}'), st.just(b"[1, 2]"), st.just(b"\xff\xfe{"),
    st.binary(max_size=20),
)
media_bodies = st.one_of(st.builds(unique_jpeg, st.text(max_size=8)),
                         st.builds(unique_mp4, st.text(max_size=8)),
                         st.just(b""), st.binary(max_size=40))


@st.composite
def exports(draw: Any) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for _ in range(draw(st.integers(1, 25))):
        name = draw(names)
        body = json_bodies if name.lower().endswith(".json") else media_bodies
        files[f"{draw(st.sampled_from(FOLDERS))}/{name}"] = draw(body)
    return files


def _write(root: Path, files: dict[str, bytes], layout: str) -> list[Path]:
    if layout == "folder":
        for path, data in files.items():
            target = root / "export" / path
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_dir():
                continue
            target.write_bytes(data)
        return [root / "export"]
    parts = [root / f"part-{i}.{layout}" for i in range(2)]
    if layout == "zip":
        archives = [zipfile.ZipFile(p, "w") for p in parts]
        for index, (path, data) in enumerate(files.items()):
            archives[index % 2].writestr(path, data)
        for archive in archives:
            archive.close()
    else:
        tars = [tarfile.open(p, "w:gz") for p in parts]  # noqa: SIM115
        for index, (path, data) in enumerate(files.items()):
            info = tarfile.TarInfo(path)
            info.size = len(data)
            tars[index % 2].addfile(info, io.BytesIO(data))
        for tar in tars:
            tar.close()
    return parts


def _path(location: str) -> str:
    return display_name(location.split(":", 1)[1])


def _on_disk(root: Path) -> set[str]:
    return {p.relative_to(root / "export").as_posix() for p in (root / "export").rglob("*")
            if p.is_file()}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files=exports(), layout=st.sampled_from(["folder", "zip", "tgz"]),
       untitled=st.sampled_from(["keep", "skip"]), edited=st.booleans())
def test_every_file_accounted_exactly_once(files: dict[str, bytes], layout: str,
                                           untitled: str, edited: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        sources = _write(root, files, layout)
        if layout == "folder":  # a name may have been both a file and a folder
            files = {p: files[p] for p in _on_disk(root)}
        source = TakeoutSource(sources, TakeoutSettings(untitled_albums=untitled,
                                                        edited_variants=edited))
        seen: Counter[str] = Counter()
        try:
            for event in source.scan():
                if isinstance(event, Accounted):
                    seen[_path(event.location)] += 1
                    continue
                assert isinstance(event, MediaItem)
                for file in (event.file, event.live_video):
                    if file is not None:
                        with file.opener() as stream:
                            assert len(stream.read()) == file.size
                        seen[_path(file.location)] += 1
                event.release()
        finally:
            source.close()
        # Two files may share a name once normalized (NFC and NFD spellings on disk);
        # control characters are shown escaped.
        expected = Counter(display_name(p) for p in files)
        media = Counter({p: n for p, n in expected.items() if not p.lower().endswith(".json")})
        assert all(seen[p] == n for p, n in media.items()), "a media file is not accounted once"
        assert all(n <= expected[p] for p, n in seen.items()), "a file was accounted twice"
        stats = source.stats
        assert stats.files == len(files)
        assert stats.files - stats.json_used + stats.part_problems == sum(seen.values())


@settings(max_examples=300, deadline=None)
@given(media=st.lists(names, max_size=15, unique=True),
       jsons=st.lists(names.map(lambda n: n + ".json"), max_size=15, unique=True))
def test_folder_matching_gives_each_json_one_fate(media: list[str], jsons: list[str]) -> None:
    result = match_folder(media, jsons)
    own = list(result.sidecar.values())
    assert len(own) == len(set(own)), "a sidecar went to two files"
    assert set(result.sidecar) <= set(media) and set(result.live) <= set(media)
    assert not set(result.live) & set(result.sidecar)
    shared = {j for j in result.edited.values() if j is not None}
    assert set(result.unmatched) == set(jsons) - set(own) - shared
