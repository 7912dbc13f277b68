"""The pure parts of reclaim, over many generated variants: the eligibility rules, the
page identity checks (dates in three languages as the imitation writes them, names, URLs),
the locator patterns built from the UI text files, and the bulk check batching."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from adapters.base import VerifyStatus
from importer.reclaim import gallerycheck
from importer.reclaim.candidates import AlbumNeed, Candidate, Part, Problem
from importer.reclaim.identity import date_matches, item_id, name_matches, page_url, url_shows
from importer.reclaim.rules import GalleryFacts, Policy, decide
from importer.reclaim.texts import after_prefix, containing, exact_names, load_texts, prefixed
from tests.fakes.gphotos_web import NNBSP, TEXTS, shown_date

NOW = datetime(2025, 6, 1, tzinfo=UTC)
moments = st.builds(
    lambda base, minutes: base.replace(tzinfo=timezone(timedelta(minutes=minutes))),
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2035, 12, 31)),
    st.integers(-12 * 60, 14 * 60).map(lambda m: m - m % 15))


@given(moment=moments, language=st.sampled_from(["en", "de", "fr"]))
def test_the_capture_date_as_the_page_writes_it_is_recognised(moment: datetime,
                                                              language: str) -> None:
    months = load_texts(language).months
    assert date_matches(shown_date(moment, language), moment, months)


@given(moment=moments, days=st.integers(2, 4000), sign=st.sampled_from([1, -1]),
       language=st.sampled_from(["en", "de", "fr"]))
def test_another_date_is_never_taken_for_it(moment: datetime, days: int, sign: int,
                                            language: str) -> None:
    other = moment + sign * timedelta(days=days)
    months = load_texts(language).months
    assert not date_matches(shown_date(other, language), moment, months)


def test_dates_that_say_too_little_or_too_much_match_nothing() -> None:
    months = load_texts("en").months
    moment = datetime(2019, 1, 5, 15, 4, tzinfo=UTC)
    for text in ("", "Jan 2019", "5 2019", "Jan 5 or Feb 6, 2019", "Jan 5, 2019 and 2020"):
        assert not date_matches(text, moment, months), text
    assert date_matches("2019-01-05 15:04", moment, months)


@given(name=st.text(min_size=1, max_size=40).filter(lambda s: s.strip()))
def test_names_match_in_either_unicode_form_and_only_themselves(name: str) -> None:
    nfd = unicodedata.normalize("NFD", name)
    assert name_matches(nfd, unicodedata.normalize("NFC", name))
    assert not name_matches(name + "x", name)


ids = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
              min_size=5, max_size=60)


@given(wanted=ids, other=ids, account=st.integers(0, 3))
def test_the_url_must_keep_the_items_id(wanted: str, other: str, account: int) -> None:
    url = f"https://photos.google.com/photo/{wanted}"
    assert item_id(url) == wanted
    assert page_url(url, "http://127.0.0.1:9/") == f"http://127.0.0.1:9/photo/{wanted}"
    assert url_shows(f"https://photos.google.com/u/{account}/photo/{wanted}?x=1", wanted)
    if other != wanted:
        assert not url_shows(f"https://photos.google.com/photo/{other}", wanted)
        assert not url_shows(f"https://photos.google.com/photo/{wanted}x", wanted)


@given(literal=st.text(min_size=1, max_size=30).filter(lambda s: s.strip()),
       value=st.text(max_size=20))
def test_locator_patterns_take_any_literal(literal: str, value: str) -> None:
    """A user's file may hold any text: the patterns escape it, and match it with plain,
    no-break or narrow no-break spaces (French typography), composed or decomposed."""
    for form in ("NFC", "NFD"):
        spaced = unicodedata.normalize(form, literal).replace(" ", NNBSP)
        assert exact_names([literal]).search(spaced)
        assert containing([literal]).search("«" + spaced + "»")
        assert prefixed([literal + ": "]).search(spaced + ": " + value)
        shown = after_prefix(f"{spaced}: {value}", [literal + ": "])
        assert shown is not None
        assert name_matches(shown, value) if value.strip() else shown == ""


def test_every_language_file_is_complete_and_agrees_with_the_imitation() -> None:
    for language in ("en", "de", "fr"):
        texts = load_texts(language)
        page = TEXTS[language]
        assert exact_names(texts.trash_button.names).search(page["trash"])
        assert exact_names(texts.confirm_button.names).search(page["confirm"])
        assert not exact_names(texts.trash_button.names).search(page["delete_forever"])
        assert exact_names(texts.in_trash.names).search(page["restore"])
        assert containing(texts.trashed_toast.text).search(page["toast"])
        assert after_prefix(page["file_name"] + "a.jpg", texts.file_name.label_prefix) == "a.jpg"


# -- the rules ------------------------------------------------------------------------------

parts = st.lists(st.builds(Part, st.sampled_from(["file", "edited copy", "live video"]),
                           st.sampled_from(["r1", "r2", "r3"]),
                           st.sampled_from(["a" * 40, "b" * 40])), max_size=3)
albums = st.lists(st.builds(AlbumNeed, st.just("k"), st.sampled_from(["Trip", "Keep"]),
                            st.sampled_from(["A1", "A2", None]), st.sampled_from(["r1", "r2"])),
                  max_size=2)
candidates = st.builds(
    Candidate, google_url=st.sampled_from(["https://photos.google.com/photo/x", None]),
    identity=st.just("x"), name=st.just("x.jpg"),
    taken_at=st.none() | st.datetimes(datetime(2020, 1, 1), datetime(2025, 6, 1),
                                      timezones=st.just(UTC)),
    imported_at=st.none() | st.just(NOW - timedelta(days=40)),
    favorite=st.booleans(), archived=st.booleans(), parts=parts, albums=albums,
    problem=st.none() | st.just(Problem("live_video", "no checksum")))
statuses = st.dictionaries(st.tuples(st.sampled_from(["r1", "r2", "r3"]),
                                     st.sampled_from(["a" * 40, "b" * 40])),
                           st.sampled_from([*VerifyStatus, "timed out"]))
member_sets = st.frozensets(st.sampled_from(["r1", "r2"])) | st.just("boom")
members = st.none() | st.dictionaries(st.sampled_from(["A1", "A2"]), member_sets)


@settings(max_examples=400)
@given(found=candidates, status=statuses, listed=members, trashed=st.booleans(),
       keep_archived=st.booleans(), days=st.integers(0, 400))
def test_trash_only_when_every_rule_holds(found: Candidate, status: dict[tuple[str, str], Any],
                                         listed: Any, trashed: bool, keep_archived: bool,
                                         days: int) -> None:
    policy = Policy.of(days, ["keep"], keep_archived)
    decision = decide(found, policy, NOW, trashed, GalleryFacts(status, listed))
    if not decision.trash:
        assert decision.reason and decision.rule != "eligible"
        return
    since = found.taken_at or found.imported_at
    assert found.google_url and not trashed and found.problem is None and not found.favorite
    assert since is not None and NOW - since >= timedelta(days=days)
    assert not (keep_archived and found.archived)
    assert all(status.get((p.remote_id, p.sha1)) is VerifyStatus.OK for p in found.parts)
    for need in found.albums:
        assert need.title.casefold() != "keep" and need.album_id is not None
        assert listed is not None and need.member in listed[need.album_id]


@given(pairs=st.lists(st.tuples(st.sampled_from([f"r{i}" for i in range(8)]),
                                st.sampled_from(["a", "b", "c"])), max_size=60),
       size=st.integers(1, 7))
def test_verify_batches_cover_each_part_once_without_a_repeated_id(
        pairs: list[tuple[str, str]], size: int) -> None:
    unique = list(dict.fromkeys(pairs))
    batches = list(gallerycheck.batches(unique, size))
    assert sorted(p for b in batches for p in b) == sorted(unique)
    for batch in batches:
        assert 0 < len(batch) <= size
        assert len({remote for remote, _ in batch}) == len(batch)



json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=6), max_leaves=20)
plan_like = st.fixed_dictionaries(
    {"id": json_values, "created": json_values, "target": json_values, "items": st.lists(
        st.fixed_dictionaries({"identity": json_values, "decision": st.sampled_from(
            ["trash", "keep", "nope", None])}, optional={"approved": json_values,
                                                         "size": json_values}), max_size=4)},
    optional={"state": json_values, "older_than_days": json_values})


@settings(max_examples=300)
@given(data=json_values | plan_like)
@example(data={"id": 1, "created": 1, "target": 1, "items": [], "older_than_days": 1e400})
def test_any_json_is_a_plan_or_one_clear_error(data: Any, tmp_path_factory: Any) -> None:
    import json as json_module

    from importer.reclaim import ReclaimError
    from importer.reclaim.planfile import load_plan

    path = tmp_path_factory.mktemp("plans") / "plan.json"
    path.write_text(json_module.dumps(data))
    try:
        plan = load_plan(path)
    except ReclaimError as exc:
        assert str(exc).startswith(str(path)) and "\n" not in str(exc)
        return
    for chosen in plan.to_trash():
        assert chosen.decision == "trash"
        assert not plan.carries_approvals or chosen.approved is True


@settings(max_examples=300)
@given(lines=st.lists(st.text(alphabet=st.characters(blacklist_categories=["Cs"]),
                              max_size=60), max_size=6))
def test_any_cookies_file_is_cookies_or_one_clear_error(lines: list[str],
                                                       tmp_path_factory: Any) -> None:
    from importer.reclaim import ReclaimError
    from importer.reclaim.login import read_cookies

    path = tmp_path_factory.mktemp("cookies") / "cookies.txt"
    path.write_text("\n".join(lines), encoding="utf-8")
    try:
        cookies = read_cookies(path, ("google.com",), 0.0)
    except ReclaimError as exc:
        assert str(exc).startswith(str(path)) and "\n" not in str(exc)
        return
    assert all(c["domain"].lstrip(".").endswith("google.com") for c in cookies)
