"""One item on photos.google.com: open it, prove it is the right one, trash it, check.

Every destructive click is preceded by an identity check (URL keeps the id; the info panel
shows the expected name, else the capture date) and followed by a confirmation check (the
page, loaded again, shows the item in the trash or no longer shows it). Anything the page
does not prove keeps the item. The confirm button must carry the "Move to trash" name, so
a click that lands on another dialog (delete forever) can never be confirmed.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from importer.reclaim import first_line
from importer.reclaim.identity import date_matches, item_id, name_matches, page_url, url_shows
from importer.reclaim.planfile import PlanItem
from importer.reclaim.texts import (
    LocatorSpec,
    UiTexts,
    after_prefix,
    containing,
    exact_names,
    prefixed,
)


class Outcome(enum.StrEnum):
    TRASHED = "trashed"
    IN_TRASH = "already in trash"
    GONE = "not in Google Photos"
    NOT_CONFIRMED = "not confirmed"
    FAILED = "failed"


@dataclass(frozen=True)
class PageResult:
    outcome: Outcome
    detail: str = ""


class SignedOut(Exception):
    """Google shows its sign-in page: nothing more can be done until the user signs in."""


def locate(root: Page | Locator, spec: LocatorSpec) -> Locator:
    if spec.role is not None:
        role: Any = spec.role
        if spec.names:
            return root.get_by_role(role, name=exact_names(spec.names))
        return root.get_by_role(role)
    if spec.label_prefix:
        return root.get_by_label(prefixed(spec.label_prefix))
    if spec.text:
        return root.get_by_text(containing(spec.text))
    assert spec.css is not None
    return root.locator(spec.css)


class ItemPage:
    def __init__(self, page: Page, texts: UiTexts, base_url: str, timeout: float) -> None:
        self.page = page
        self.texts = texts
        self.base_url = base_url
        self.ms = timeout * 1000

    # -- the whole step --------------------------------------------------------------------

    def process(self, item: PlanItem) -> PageResult:
        """One attempt; a browser that errs (crashed, page closed) fails the attempt."""
        try:
            return self._process(item)
        except PlaywrightError as exc:
            return PageResult(Outcome.FAILED, f"the browser failed: {first_line(exc)}")

    def _process(self, item: PlanItem) -> PageResult:
        assert item.google_url is not None
        wanted = item_id(item.google_url)
        if wanted is None:
            return PageResult(Outcome.NOT_CONFIRMED, "its URL names no item")
        url = page_url(item.google_url, self.base_url)
        view = self.open(url)
        if isinstance(view, PageResult):
            return view
        if not url_shows(self.page.url, wanted):
            return PageResult(Outcome.NOT_CONFIRMED,
                              f"the page went to another item ({self.page.url})")
        if view == "in_trash":
            return PageResult(Outcome.IN_TRASH, "found in Google's trash")
        if view == "gone":
            return PageResult(Outcome.GONE, "Google cannot show it (deleted?)")
        refused = self.confirm_identity(item)
        if refused is not None:
            return refused
        return self.trash(url)

    # -- opening ---------------------------------------------------------------------------

    def open(self, url: str) -> str | PageResult:
        """"item", "in_trash" or "gone"; a failed load as a result; SignedOut raised."""
        try:
            answer = self.page.goto(url, wait_until="domcontentloaded")
        except PlaywrightTimeout:
            return PageResult(Outcome.FAILED, f"the page did not load in {self.ms / 1000:g} s")
        except PlaywrightError as exc:
            return PageResult(Outcome.FAILED, f"the page did not load: {first_line(exc)}")
        self._check_signed_in()
        if answer is not None and answer.status >= 500:
            return PageResult(Outcome.FAILED, f"Google answered {answer.status}")
        texts = self.texts
        markers = {name: locate(self.page, getattr(texts, name))
                   for name in ("in_trash", "cant_access", "sign_in", "trash_button")}
        anything = markers["in_trash"]
        for marker in list(markers.values())[1:]:
            anything = anything.or_(marker)
        if not self._wait(anything):
            self._check_signed_in()
            return PageResult(Outcome.FAILED, f"the page showed no item in {self.ms / 1000:g} s")
        if self._shown(markers["sign_in"]):
            raise SignedOut(self.page.url)
        if self._shown(markers["in_trash"]):
            return "in_trash"
        if self._shown(markers["cant_access"]):
            return "gone"
        return "item"

    def _check_signed_in(self) -> None:
        if any(marker in self.page.url for marker in self.texts.sign_in_urls):
            raise SignedOut(self.page.url)

    def _wait(self, locator: Locator, timeout: float | None = None) -> bool:
        try:
            locator.filter(visible=True).first.wait_for(
                state="visible", timeout=self.ms if timeout is None else timeout)
        except PlaywrightTimeout:
            return False
        return True

    @staticmethod
    def _shown(locator: Locator) -> bool:
        return locator.filter(visible=True).count() > 0

    # -- identity --------------------------------------------------------------------------

    def confirm_identity(self, item: PlanItem) -> PageResult | None:
        """None when the info panel shows this item's name (or, without one, its date)."""
        texts = self.texts
        names, dates = locate(self.page, texts.file_name), locate(self.page, texts.date_taken)
        if not self._shown(names.or_(dates)):
            opened = self._open_info()
            if opened is not None:
                return opened
        if not self._wait(names.or_(dates)):
            return PageResult(Outcome.NOT_CONFIRMED, "the page shows no file name or date")
        shown = self._values(names, texts.file_name.label_prefix)
        if len(set(shown)) > 1:
            return PageResult(Outcome.NOT_CONFIRMED, f"the page shows several names {shown}")
        if shown and item.title:
            if name_matches(shown[0], item.title):
                return None
            return PageResult(Outcome.NOT_CONFIRMED, f"the page shows another item "
                              f"({shown[0]!r}, not {item.title!r})")
        return self._confirm_date(item, dates)

    def _open_info(self) -> PageResult | None:
        button = locate(self.page, self.texts.info_button).filter(visible=True)
        try:
            if button.count():
                button.first.click()
        except PlaywrightError as exc:
            return PageResult(Outcome.FAILED, f"the info button did not work: {first_line(exc)}")
        if not self._wait(locate(self.page, self.texts.info_panel)):
            return PageResult(Outcome.FAILED, "the info panel did not open")
        return None

    def _values(self, locator: Locator, prefixes: list[str]) -> list[str]:
        values = []
        for element in locator.filter(visible=True).all():
            label = element.get_attribute("aria-label") or element.inner_text()
            value = after_prefix(label, prefixes) if prefixes else label.strip()
            if value:
                values.append(value)
        return values

    def _confirm_date(self, item: PlanItem, dates: Locator) -> PageResult | None:
        taken = datetime.fromisoformat(item.taken_at) if item.taken_at else None
        shown = self._values(dates, self.texts.date_taken.label_prefix)
        if taken is None or not shown:
            return PageResult(Outcome.NOT_CONFIRMED, "no file name or date to match")
        if all(date_matches(text, taken, self.texts.months) for text in shown):
            return None
        return PageResult(Outcome.NOT_CONFIRMED, f"the page shows date {shown[0]!r}, "
                          f"not {taken.date().isoformat()}")

    # -- trashing --------------------------------------------------------------------------

    def trash(self, url: str) -> PageResult:
        texts = self.texts
        if self._shown(locate(self.page, texts.in_trash)):
            return PageResult(Outcome.IN_TRASH, "found in Google's trash")
        try:
            locate(self.page, texts.trash_button).filter(visible=True).first.click()
        except PlaywrightError as exc:
            return PageResult(Outcome.FAILED, f"the trash button did not work: {first_line(exc)}")
        dialog = locate(self.page, texts.dialog).filter(visible=True)
        confirm = locate(dialog, texts.confirm_button)
        if not self._wait(confirm):
            return PageResult(Outcome.FAILED, "the confirmation dialog did not appear")
        try:
            confirm.filter(visible=True).first.click()
        except PlaywrightError as exc:
            return PageResult(Outcome.FAILED, f"the confirm button did not work: {first_line(exc)}")
        toast = self._wait(locate(self.page, texts.trashed_toast))
        return self._check_gone(url, toast)

    def _check_gone(self, url: str, toast: bool) -> PageResult:
        """Loaded again, the item must show as trashed, or not at all."""
        view = self.open(url)
        if view in ("in_trash", "gone"):
            return PageResult(Outcome.TRASHED, "confirmed in Google's trash" if toast else
                              "in Google's trash (no confirmation message was shown)")
        if isinstance(view, PageResult):
            return PageResult(Outcome.FAILED, f"could not check the trash: {view.detail}")
        return PageResult(Outcome.FAILED, "the item is still in the library after trashing")

