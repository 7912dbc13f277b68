"""The UI texts and locators of photos.google.com, as data: one file per UI language.

Google changes its page without notice; when it does, a user copies `ui/<lang>.json`,
fixes the names that changed and points `reclaim.ui_texts_file` at the copy, without a
code change. Locators prefer ARIA roles with accessible names, then aria-label prefixes,
then visible text; CSS is the last resort.
"""

from __future__ import annotations

import json
import re
import unicodedata
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from importer.reclaim import ReclaimError

_REGEX_SPECIALS = set(".^$*+?()[]{}|\\/")


class LocatorSpec(BaseModel):
    """How to find one thing on the page. `role` (+ exact accessible `names`), or
    `label_prefix` (an aria-label starting with one of them; what follows is the value),
    or `text` (visible text containing one of them), or `css`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    role: str | None = None
    names: list[str] = []
    label_prefix: list[str] = []
    text: list[str] = []
    css: str | None = None

    @model_validator(mode="after")
    def _one_way(self) -> LocatorSpec:
        ways = [self.role is not None, bool(self.label_prefix), bool(self.text),
                self.css is not None]
        if sum(ways) != 1:
            raise ValueError("give exactly one of role, label_prefix, text or css")
        return self


class UiTexts(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    trash_button: LocatorSpec
    info_button: LocatorSpec
    info_panel: LocatorSpec
    file_name: LocatorSpec
    date_taken: LocatorSpec
    dialog: LocatorSpec
    confirm_button: LocatorSpec
    trashed_toast: LocatorSpec
    in_trash: LocatorSpec
    cant_access: LocatorSpec
    sign_in: LocatorSpec
    sign_in_urls: list[str]
    months: list[list[str]]

    @model_validator(mode="after")
    def _twelve_months(self) -> UiTexts:
        if len(self.months) != 12 or not all(self.months):
            raise ValueError("months: give 12 lists of names (January first)")
        return self


def _read(source: str, text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError:
        raise ReclaimError(f"{source}: not valid JSON") from None
    if not isinstance(data, dict):
        raise ReclaimError(f"{source}: expected an object of UI texts")
    return {k: v for k, v in data.items() if not k.startswith("_")}


def load_texts(language: str, user_file: str | None = None) -> UiTexts:
    """The language's texts, with the user's file (if any) replacing whole keys."""
    try:
        text = (resources.files("importer.reclaim") / "ui" / f"{language}.json").read_text(
            encoding="utf-8")
    except (OSError, ValueError):
        raise ReclaimError(f"reclaim.ui_language: no UI texts for {language!r}") from None
    data = _read(f"ui/{language}.json", text)
    source = f"ui/{language}.json"
    if user_file:
        path = Path(user_file).expanduser()
        try:
            own = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ReclaimError(f"{path}: cannot read the UI texts file: {exc.strerror}"
                               ) from None
        data.update(_read(str(path), own))
        source = str(path)
    try:
        return UiTexts.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ReclaimError(f"{source}: `{key}`: {first['msg']}") from None


def squash(text: str) -> str:
    """NFC, every run of white space (no-break spaces included) one plain space."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def _loose(literal: str) -> str:
    """A JavaScript-safe regex source matching `literal` with any white space, in the
    composed or decomposed Unicode form (the browser matches the page's text as it is)."""
    forms = []
    for form in ("NFC", "NFD"):
        out = []
        for char in " ".join(unicodedata.normalize(form, literal).split()):
            if char == " ":
                out.append(r"\s+")
            elif char in _REGEX_SPECIALS:
                out.append("\\" + char)
            else:
                out.append(char)
        forms.append("".join(out))
    return "|".join(dict.fromkeys(forms))


def _any(literals: list[str]) -> str:
    return "(?:" + "|".join(_loose(t) for t in literals) + ")"


def exact_names(names: list[str]) -> re.Pattern[str]:
    return re.compile("^\\s*" + _any(names) + "\\s*$")


def containing(texts: list[str]) -> re.Pattern[str]:
    return re.compile(_any(texts))


def prefixed(prefixes: list[str]) -> re.Pattern[str]:
    return re.compile("^\\s*" + _any([p.rstrip() for p in prefixes]))


def after_prefix(label: str, prefixes: list[str]) -> str | None:
    """The value in an aria-label such as "Filename: IMG_1.jpg", or None."""
    value = squash(label)
    for prefix in prefixes:
        head = squash(prefix)
        if value.startswith(head):
            return value[len(head):].strip()
    return None
