"""Issue 3: sidecar matching, table-tested with real-world name pairs (shared notes)."""

from __future__ import annotations

import unicodedata

import pytest

from importer.sources.sidecar import (
    SidecarIndex,
    edited_original,
    live_key,
    match_folder,
    parse_json_name,
)
from tests.exportgen import sidecar_name

# (media name, its JSON name): every pair of the shared notes, and more from real exports.
MATCHES = [
    ("IMG_1.jpg", "IMG_1.jpg.json"),
    ("IMG_1.jpg", "IMG_1.jpg.supplemental-metadata.json"),
    ("MVIMG_20200207_134534~2.jpg", "MVIMG_20200207_134534~2.jpg.supplemental-metad.json"),
    ("Screenshot_20231027_123303_Facebook.jpg",
     "Screenshot_20231027_123303_Facebook.jpg.supple.json"),
    ("x.jpg", "x.jpg.s.json"),
    ("PXL_20230809_203449253.LONG_EXPOSURE-02.ORIGINAL.jpg",
     "PXL_20230809_203449253.LONG_EXPOSURE-02.ORIGIN.json"),
    ("Screenshot_2024-08-31-00-53-48-647_com.snapchat.android.jpg",
     "Screenshot_2024-08-31-00-53-48-647_com.snapcha.json"),
    ("IMG_3479(1).JPG", "IMG_3479.JPG(1).json"),
    ("Scan35(1).jpg", "Scan35.jpg.supplemental-metadata(1).json"),
    ("13039_1015131304655720_1547458226000000_n(1).jpg",
     "13039_1015131304655720_1547458226000000_n.j(1).json"),
    ("Peanut Butter Balls.jpg", "Peanut Butter Balls.supplemental-metadata.json"),
    ("IMG_1234.jpg", "IMG_1234.jpeg.json"),
    ("IMG_1234.jpg", "IMG_1234.JPG.json"),
    ("IMG_20200920_131207.jpg", "IMG_20200920_131207.jpg.supplemental-metadat.json"),
    ("VID_20200930_155021.mp4", "VID_20200930_155021.mp4.supplemental-metadata.json"),
    ("IMG_20200920_131207.jpg", "IMG_20200920_131207.jpg.suppl.json"),
    ("IMG-20200920-WA0009.jpg", "IMG-20200920-WA0009.jpg.supplemental-metadata.json"),
    ("image(2).png", "image.png.supplemental-metadata(2).json"),
    ("IMG20240221145914~2.jpg", "IMG20240221145914~2.jpg.supplemental-metadata.json"),
    ("PXL_20230809_203449253.MP.jpg", "PXL_20230809_203449253.MP.jpg.supplemental-met.json"),
    ("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG.jpg",  # 47 chars: '..json'
     "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG.jpg.json"),
    ("Café.jpg", unicodedata.normalize("NFD", "Café.jpg.supplemental-metadata.json")),
    (unicodedata.normalize("NFD", "Crème brûlée.jpg"), "Crème brûlée.jpg.json"),
    ("03.03.13 - 1", "03.03.13 - 1.json"),  # legacy file without extension
    ("IMG_0001(1).jpg", "IMG_0001(1).jpg.json"),  # a counter that is part of the name
    # Pixel/Samsung mode suffixes are part of the name, never a second extension to drop.
    ("PXL_20230809_203449253.NIGHT.jpg", "PXL_20230809_203449253.NIGHT.jpg.supplemental-.json"),
    ("PXL_20230809_203449253.PORTRAIT.jpg", "PXL_20230809_203449253.PORTRAIT.jpg.supplem.json"),
    ("PXL_20210101_101010101.LS.mp4", "PXL_20210101_101010101.LS.mp4.supplemental-me.json"),
    ("PXL_20210101_101010101.TS.mp4", "PXL_20210101_101010101.TS.mp4.json"),
    ("00000IMG_00000_BURST20190101120000123_COVER.jpg",
     "00000IMG_00000_BURST20190101120000123_COVER.jp.json"),
]

# (media names of one folder, JSON names of that folder, media that must get NO sidecar).
MUST_NOT_MATCH = [
    (["IMG_1.jpg"], ["IMG_10.jpg.json"], "IMG_1.jpg"),
    (["IMG_1.jpg"], ["IMG_1.jpg(1).json"], "IMG_1.jpg"),
    (["IMG_1(1).jpg"], ["IMG_1.jpg.json"], "IMG_1(1).jpg"),
    (["IMG_1.png"], ["IMG_1.jpg.json"], "IMG_1.png"),
    (["IMG_12.jpg"], ["IMG_1.jpg.supplemental-metadata.json"], "IMG_12.jpg"),
    (["IMG_1(2).jpg"], ["IMG_1.jpg.supplemental-metadata(1).json"], "IMG_1(2).jpg"),
    (["holiday-edited.jpg"], ["holiday.png.json"], "holiday-edited.jpg"),
    (["Screenshot_20231027_123303_Facebook.jpg"],
     ["Screenshot_20231027_123303_Instagram.jpg.supple.json"],
     "Screenshot_20231027_123303_Facebook.jpg"),
    (["short.jpg"], ["shor.json"], "short.jpg"),  # a cut only happens at the cap
]


@pytest.mark.parametrize(("media", "json_name"), MATCHES)
def test_real_pairs_match(media: str, json_name: str) -> None:
    assert match_folder([media], [json_name]).sidecar == {media: json_name}
    assert json_name in SidecarIndex([json_name]).candidates(media)


def test_a_name_cut_at_an_unusual_place_matches_when_only_one_file_fits() -> None:
    """A cap counted in bytes cuts a non-ASCII name earlier than 51 characters."""
    media = "Wycieczka_do_Zakopanego_źródło_ąęśćżźńół_2019_07_04.jpg"
    json_name = media.encode()[:46].decode(errors="ignore") + ".json"
    assert json_name not in SidecarIndex([json_name]).candidates(media)
    assert match_folder([media], [json_name]).sidecar == {media: json_name}
    twins = match_folder([media, media.replace("04.jpg", "05.jpg")], [json_name])
    assert twins.sidecar == {} and twins.unmatched == [json_name]  # ambiguous: no guess


@pytest.mark.parametrize(("media", "json_names", "unmatched"), MUST_NOT_MATCH)
def test_near_misses_do_not_match(media: list[str], json_names: list[str],
                                  unmatched: str) -> None:
    result = match_folder(media, json_names)
    assert unmatched not in result.sidecar
    assert unmatched not in result.edited or result.edited[unmatched] is None


def test_each_sidecar_goes_to_one_media_file_the_best_fitting() -> None:
    media = ["IMG_1.jpg", "IMG_1(1).jpg", "IMG_1.png", "IMG_1.mp4"]
    jsons = ["IMG_1.jpg.json", "IMG_1.jpg(1).json", "IMG_1.png.supplemental-metadata.json"]
    result = match_folder(media, jsons)
    assert result.sidecar == {"IMG_1.jpg": "IMG_1.jpg.json",
                              "IMG_1(1).jpg": "IMG_1.jpg(1).json",
                              "IMG_1.png": "IMG_1.png.supplemental-metadata.json"}
    assert result.unmatched == []


@pytest.mark.parametrize("naming", ["supplemental", "legacy", "bare"])
@pytest.mark.parametrize("name", [
    "IMG_1.jpg", "IMG_1(3).jpg", "PXL_20230809_203449253.LONG_EXPOSURE-02.ORIGINAL.jpg",
    "a" * 40 + "(12).jpeg", "Zdjęcie z wakacji nad morzem w Gdańsku 2019.JPG", "x.y.z.mp4",
    "Screenshot_" + "Facebook" * 5 + ".png",
    "日本語の名前の写真です日本語の名前の写真です日本語の名前.jpg",
])
def test_google_naming_rule_round_trips(name: str, naming: str) -> None:
    """Whatever Google cuts, the JSON it writes comes back to its media file."""
    json_name = sidecar_name(name, naming)
    assert len(json_name) <= 51
    assert match_folder([name], [json_name]).sidecar == {name: json_name}


def test_many_files_with_one_prefix_match_in_linear_time() -> None:
    names = [f"IMG_{i}.jpg" for i in range(20_000)]
    result = match_folder(names, [sidecar_name(n) for n in names])
    assert len(result.sidecar) == 20_000 and not result.unmatched


@pytest.mark.parametrize(("json_name", "first_key"), [
    ("IMG_1.jpg.json", ("IMG_1.jpg", "")),
    ("Scan35.jpg.supplemental-metadata(1).json", ("Scan35.jpg", "(1)")),
    ("x.jpg.s.json", ("x.jpg", "")),
    ("name.jpg..json", ("name.jpg", "")),
    ("IMG_3479.JPG(1).json", ("IMG_3479.JPG", "(1)")),
    ("metadata.json", ("metadata", "")),
])
def test_json_names_parse(json_name: str, first_key: tuple[str, str]) -> None:
    assert parse_json_name(json_name)[0] == first_key


def test_non_json_names_give_no_keys() -> None:
    assert parse_json_name("IMG_1.jpg") == []


@pytest.mark.parametrize(("name", "original"), [
    ("IMG_1-edited.jpg", "IMG_1.jpg"),
    ("IMG_1-EDITED.JPG", "IMG_1.JPG"),
    ("IMG_1-edited(1).jpg", "IMG_1(1).jpg"),
    ("IMG_1-modifié.jpg", "IMG_1.jpg"),
    ("IMG_1-bearbeitet.jpg", "IMG_1.jpg"),
    ("IMG_1-modificato.jpg", "IMG_1.jpg"),
    ("IMG_1-bewerkt.jpg", "IMG_1.jpg"),
    ("IMG_1-edytowane.jpg", "IMG_1.jpg"),
    ("IMG_1-ha editado.jpg", "IMG_1.jpg"),
    ("IMG_1-編集済み.jpg", "IMG_1.jpg"),
    ("PXL_20230809_203449253.LONG_EXPOSURE-02-edi.jpg",
     "PXL_20230809_203449253.LONG_EXPOSURE-02.jpg"),  # cut short on a long name
    ("IMG_1.jpg", None),
    ("my-mix.jpg", "my.jpg"),  # a Google "mix" creation shares its original's JSON
    ("-edited.jpg", None),
    ("short-e.jpg", None),  # a short name is not cut, so "-e" is no suffix
])
def test_edited_originals(name: str, original: str | None) -> None:
    assert edited_original(name) == original


def test_edited_copies_share_the_originals_sidecar() -> None:
    media = ["IMG_1.jpg", "IMG_1-edited.jpg", "IMG_2-bearbeitet.jpg", "lonely-edited.jpg"]
    jsons = ["IMG_1.jpg.supplemental-metadata.json", "IMG_2.jpg.json"]
    result = match_folder(media, jsons)
    assert result.sidecar == {"IMG_1.jpg": "IMG_1.jpg.supplemental-metadata.json"}
    # IMG_2.jpg itself is absent (another part lost?): its JSON still dates the edit.
    assert result.edited == {"IMG_1-edited.jpg": "IMG_1.jpg.supplemental-metadata.json",
                             "IMG_2-bearbeitet.jpg": "IMG_2.jpg.json"}
    assert "lonely-edited.jpg" not in result.edited  # nothing says it is an edit
    assert result.unmatched == []


def test_edited_copy_with_a_new_extension_finds_the_original_json() -> None:
    result = match_folder(["IMG_5.HEIC", "IMG_5-edited.jpg"], ["IMG_5.HEIC.json"])
    assert result.edited == {"IMG_5-edited.jpg": "IMG_5.HEIC.json"}


def test_iphone_live_photo_pairs_still_and_motion() -> None:
    result = match_folder(["IMG_0769.HEIC", "IMG_0769.MP4", "IMG_0770.JPG", "IMG_0770.MOV"],
                          ["IMG_0769.HEIC.supplemental-metadata.json", "IMG_0770.JPG.json"])
    assert result.live == {"IMG_0769.MP4": "IMG_0769.HEIC", "IMG_0770.MOV": "IMG_0770.JPG"}
    assert set(result.sidecar) == {"IMG_0769.HEIC", "IMG_0770.JPG"}


def test_pixel_motion_photo_pairs_with_its_extensionless_video() -> None:
    still, motion = "PXL_20230809_203449253.MP.jpg", "PXL_20230809_203449253.MP"
    result = match_folder([still, motion], [sidecar_name(still)], companions=[motion])
    assert result.live == {motion: still}
    assert live_key(motion, companion=True) == live_key(still)


def test_extension_less_json_goes_to_the_still_not_the_video() -> None:
    result = match_folder(["IMG_9.MOV", "IMG_9.HEIC"], ["IMG_9.json"])
    assert result.sidecar == {"IMG_9.HEIC": "IMG_9.json"}
    assert result.live == {"IMG_9.MOV": "IMG_9.HEIC"}


def test_a_video_with_its_own_item_is_no_live_part() -> None:
    jsons = ["IMG_7.HEIC.json", "IMG_7.MOV.json"]
    apart = match_folder(["IMG_7.HEIC", "IMG_7.MOV"], jsons)
    assert apart.live == {} and len(apart.sidecar) == 2
    together = match_folder(["IMG_7.HEIC", "IMG_7.MOV"], jsons, same_item=lambda a, b: True)
    assert together.live == {"IMG_7.MOV": "IMG_7.HEIC"}
    assert together.sidecar == {"IMG_7.HEIC": "IMG_7.HEIC.json"}


def test_video_without_still_is_no_live_part() -> None:
    result = match_folder(["VID_1.mp4", "IMG_2.jpg"], [])
    assert result.live == {}
