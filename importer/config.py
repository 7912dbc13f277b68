"""Settings: YAML file and command line -> one validated, typed `Settings` value.

Validation is pydantic's, on plain frozen dataclasses, so a typo or a wrong type in the file
is reported with the exact key instead of surfacing later as an odd failure mid-import.
Secrets come from `${ENV}` references, environment variables or `*_FILE` variables (the
Docker secrets convention), never only from the command line where `ps` would show them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import asdict, field, fields, replace
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
)
from pydantic import TypeAdapter as _TypeAdapter
from pydantic.dataclasses import dataclass

from importer.safetext import add_secret

_STRICT = ConfigDict(extra="forbid")


class ConfigError(Exception):
    """A usage or configuration problem; the message is one line naming the setting."""


@dataclass(frozen=True, config=_STRICT)
class ImmichSettings:
    api_key: StrictStr | None = None
    timeout: StrictFloat = Field(default=120.0, gt=0, le=3600)
    """Seconds without progress (answer or upload) before a request is retried."""
    adaptive: StrictBool = True
    """Uploads at once adapt to Immich's answer times (1 to twice `workers`); false: always
    `workers`."""


@dataclass(frozen=True, config=_STRICT)
class PhotoPrismSettings:
    token: StrictStr | None = None
    username: StrictStr | None = None
    password: StrictStr | None = None
    batch: StrictInt = Field(default=20, ge=1, le=1000)  # items per import (one PUT each)


@dataclass(frozen=True, config=_STRICT)
class TakeoutSettings:
    include_trashed: StrictBool = False
    skip_partner_shared: StrictBool = False
    untitled_albums: Literal["keep", "skip"] = "keep"
    edited_variants: StrictBool = True
    spool_dir: StrictStr | None = None
    """Where `.tgz` members wait while imported (default: the system's temporary folder)."""


@dataclass(frozen=True, config=_STRICT)
class GoogleSettings:
    """Google's side, for `auth google` and `import --from picker`. The endpoints are
    settings so tests (and proxies) can stand in for Google; None means the value in the
    OAuth client file (Google's own endpoints)."""

    token_file: StrictStr | None = None
    """Where the OAuth token is kept (default: beside the state, see README)."""
    picker_root_url: StrictStr = "https://photospicker.googleapis.com/"
    token_uri: StrictStr | None = None
    auth_uri: StrictStr | None = None
    max_items: StrictInt = Field(default=2000, ge=1, le=2000)
    """Items one picking session may select (the Picker API allows up to 2000)."""


_FIELD_NAMES = {"date": "taken_at", "location": "location", "description": "description"}


@dataclass(frozen=True, config=_STRICT)
class MetadataSettings:
    prefer_google: list[Literal["date", "location", "description"]] = field(
        default_factory=list
    )

    @property
    def google_wins(self) -> frozenset[str]:
        """The metadata fields ("taken_at", "location", "description") where a value edited
        in Google Photos wins over the file's own."""
        return frozenset(_FIELD_NAMES[name] for name in self.prefer_google)


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([smh])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}


def parse_duration(value: Any) -> float:
    """Seconds from `90s`, `10m`, `1h30m` (or a bare number of seconds)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and value.strip():
        text = value.strip().lower()
        try:
            seconds = float(text)
        except ValueError:
            pieces = _DURATION_PART.findall(text)
            if "".join(n + u for n, u in pieces) != text:
                raise ValueError(f"{value!r} is not a duration: use s, m or h, "
                                 "e.g. 30s, 10m, 1h30m") from None
            seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in pieces)
    else:
        raise ValueError(f"{value!r} is not a duration: use s, m or h, e.g. 30s, 10m, 1h30m")
    if seconds < 0:
        raise ValueError(f"{value!r}: a duration cannot be negative")
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration)]


@dataclass(frozen=True, config=_STRICT)
class WatchSettings:
    """`watch`: where exports land, how often to look, what to do after an import."""

    inbox: StrictStr | None = None
    interval: Duration = Field(default=600.0, ge=1)
    settle: Duration = Field(default=300.0, ge=0)
    """Quiet time: an export counts as complete only after nothing changed this long."""
    after_import: list[Literal["verify", "plan"]] = field(default_factory=list)
    processed: Literal["keep", "move", "delete"] = "keep"
    """What becomes of an imported export: left in place, moved to `done/`, or deleted
    `delete_after_days` after a verify that passed (verified again right before)."""
    delete_after_days: StrictInt = Field(default=30, ge=0)
    log_format: Literal["text", "json"] = "text"


@dataclass(frozen=True, config=_STRICT)
class WebSettings:
    """The local page (`serve`, `watch --web`). Any bind address but loopback needs a token:
    `token`, else the file `token_file`, else GPI_WEB_TOKEN(_FILE), else one is generated."""

    bind: StrictStr = "127.0.0.1"
    port: StrictInt = Field(default=8765, ge=0, le=65535)
    token: StrictStr | None = None
    token_file: StrictStr | None = None


@dataclass(frozen=True, config=_STRICT)
class ReclaimSettings:
    """Trashing Google copies in photos.google.com (importer/reclaim/, README "Reclaim")."""

    older_than_days: StrictInt = Field(default=30, ge=0, le=36500)
    """Keep items taken (or, undated, imported) more recently than this."""
    keep_albums: list[StrictStr] = field(default_factory=list)
    keep_archived: StrictBool = False
    pause_seconds: StrictFloat = Field(default=2.0, ge=0, le=3600)
    pause_jitter_seconds: StrictFloat = Field(default=1.0, ge=0, le=3600)
    daily_cap: StrictInt = Field(default=500, ge=1, le=100_000)
    """Items trashed per 24 hours at most, counted over runs."""
    max_consecutive_failures: StrictInt = Field(default=5, ge=1, le=1000)
    retries: StrictInt = Field(default=2, ge=0, le=10)
    timeout_seconds: StrictFloat = Field(default=30.0, gt=0, le=600)
    """How long to wait for the page to show what is expected."""
    ui_language: Literal["en", "de", "fr"] = "en"
    ui_texts_file: StrictStr | None = None
    """The user's own locator/text file, merged over the language's (Google changed it)."""
    base_url: StrictStr = "https://photos.google.com"
    browser: StrictStr | None = None
    """Chromium executable; default: Playwright's own build, else Debian's chromium."""
    profile_dir: StrictStr | None = None
    auto_apply: StrictBool = False
    """Watch mode applies each new plan by itself (issue 12 reads this)."""


@dataclass(frozen=True, config=_STRICT)
class Settings:
    sources: list[StrictStr] = field(default_factory=list)
    to: StrictStr | None = None
    state: StrictStr | None = None
    report: StrictStr | None = None
    dry_run: StrictBool = False
    workers: StrictInt = Field(default=4, ge=1, le=64)
    immich: ImmichSettings = field(default_factory=ImmichSettings)
    photoprism: PhotoPrismSettings = field(default_factory=PhotoPrismSettings)
    takeout: TakeoutSettings = field(default_factory=TakeoutSettings)
    metadata: MetadataSettings = field(default_factory=MetadataSettings)
    web: WebSettings = field(default_factory=WebSettings)
    source: Literal["takeout", "picker"] = "takeout"
    """`--from`: read Takeout parts, or the items picked in Google Photos' picker."""
    album: StrictStr | None = None
    """`--album`: with `--from picker`, the album the picked items go into."""
    google: GoogleSettings = field(default_factory=GoogleSettings)
    watch: WatchSettings = field(default_factory=WatchSettings)
    reclaim: ReclaimSettings = field(default_factory=ReclaimSettings)


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _expand_env(value: Any, key: str, env: Mapping[str, str], origin: str) -> Any:
    if isinstance(value, dict):
        return {k: _expand_env(v, f"{key}.{k}" if key else str(k), env, origin)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_env(v, f"{key}[{i}]", env, origin) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise ConfigError(f"{origin}: `{key}` refers to ${{{name}}}, which is not set")
        return env[name]

    return _ENV_REF.sub(substitute, value)


SECRET_KEYS = frozenset({("immich", "api_key"), ("photoprism", "token"),
                         ("photoprism", "password")})


def _secret_place(loc: tuple[Any, ...]) -> bool:
    """A setting that is, or contains, a secret: its value is never repeated."""
    path = tuple(str(p) for p in loc)
    return path[:2] in SECRET_KEYS or (len(path) == 1 and path[0] in ("immich", "photoprism"))


def _got(loc: tuple[Any, ...], value: Any) -> str:
    if _secret_place(loc):
        return "the value is not shown: it is, or holds, a secret"
    if isinstance(value, dict):
        return "got a mapping"
    if isinstance(value, list):
        return "got a list"
    return f"got {value!r}"


def _describe(error: ValidationError, origin: str) -> str:
    errors = error.errors()
    first = errors[0]
    key = ".".join(str(p) for p in first["loc"]) or "(top level)"
    if first["type"] == "unexpected_keyword_argument":
        message = f"{origin}: unknown setting `{key}`"
    else:
        text = str(first["msg"]).removeprefix("Value error, ")
        message = f"{origin}: `{key}`: {text} ({_got(first['loc'], first.get('input'))})"
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem(s))"
    return message


def _validate(data: Mapping[str, Any], origin: str) -> Settings:
    try:
        return _TypeAdapter(Settings).validate_python(dict(data))
    except ValidationError as exc:
        raise ConfigError(_describe(exc, origin)) from None


def load_file(path: Path, env: Mapping[str, str]) -> Settings:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc.strerror}") from None
    import yaml  # only with --config: not part of every run's start-up

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        raise ConfigError(f"{path}: not valid YAML{line}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    return _validate(_expand_env(data, "", env, str(path)), str(path))


def merge_flags(base: Settings, flags: Mapping[str, Any]) -> Settings:
    """Command-line values override the file; None means "flag not given"."""
    given = {k: v for k, v in flags.items() if v is not None and v != []}
    known = {f.name for f in fields(Settings)}
    unknown = set(given) - known
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    # Validate the merged values so flags obey the file's rules (e.g. workers within bounds).
    return _validate({**asdict(base), **given}, "command line")


def merge_section(base: Settings, section: str, flags: Mapping[str, Any]) -> Settings:
    """Command-line values for one section (e.g. `watch`) override the file's."""
    given = {k: v for k, v in flags.items() if v is not None and v != []}
    current = asdict(base)
    return _validate({**current, section: {**current[section], **given}}, "command line")


def _secret(env: Mapping[str, str], name: str) -> str | None:
    """NAME from the environment, else the contents of the file named by NAME_FILE."""
    if env.get(name):
        return env[name]
    file_name = env.get(f"{name}_FILE")
    if not file_name:
        return None
    try:
        return Path(file_name).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"{name}_FILE={file_name}: cannot read: {exc.strerror}") from None


def _header_safe(name: str, value: str | None) -> str | None:
    """A credential sent in an HTTP header: surrounding blanks (a stray newline from a
    file or `echo`) are dropped; anything a header cannot carry is refused, by name only
    (HTTP libraries quote the offending header, secret and all, in their errors)."""
    if value is None:
        return None
    value = value.strip()
    if not value.isascii() or not value.isprintable() or any(c.isspace() for c in value):
        raise ConfigError(f"{name} holds characters an HTTP header cannot carry (spaces, "
                          "line breaks or non-ASCII); check the key (its value is not shown)")
    return value or None


def with_env_secrets(settings: Settings, env: Mapping[str, str]) -> Settings:
    """Fill credentials the config left empty from the environment; each is registered
    so that no message ever prints it (`safetext`)."""
    immich = settings.immich
    api_key = immich.api_key if immich.api_key is not None else _secret(env, "IMMICH_API_KEY")
    immich = replace(immich, api_key=_header_safe("IMMICH_API_KEY", api_key))
    pp = settings.photoprism
    pp = replace(
        pp,
        token=_header_safe("PHOTOPRISM_TOKEN", pp.token or _secret(env, "PHOTOPRISM_TOKEN")),
        username=pp.username or _secret(env, "PHOTOPRISM_USERNAME"),
        password=pp.password or _secret(env, "PHOTOPRISM_PASSWORD"),
    )
    for secret in (immich.api_key, pp.token, pp.password):
        add_secret(secret)
    return replace(settings, immich=immich, photoprism=pp)


def build_settings(
    config_file: Path | None, flags: Mapping[str, Any], env: Mapping[str, str] | None = None
) -> Settings:
    environment = os.environ if env is None else env
    base = load_file(config_file, environment) if config_file else Settings()
    return with_env_secrets(merge_flags(base, flags), environment)
