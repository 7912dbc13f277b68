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
from typing import Any, Literal

from pydantic import (
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


def _describe(error: ValidationError, origin: str) -> str:
    errors = error.errors()
    first = errors[0]
    key = ".".join(str(p) for p in first["loc"]) or "(top level)"
    if first["type"] == "unexpected_keyword_argument":
        message = f"{origin}: unknown setting `{key}`"
    else:
        message = f"{origin}: `{key}`: {first['msg']} (got {first.get('input')!r})"
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


def with_env_secrets(settings: Settings, env: Mapping[str, str]) -> Settings:
    """Fill credentials the config left empty from the environment."""
    immich = settings.immich
    if immich.api_key is None:
        immich = replace(immich, api_key=_secret(env, "IMMICH_API_KEY"))
    pp = settings.photoprism
    pp = replace(
        pp,
        token=pp.token or _secret(env, "PHOTOPRISM_TOKEN"),
        username=pp.username or _secret(env, "PHOTOPRISM_USERNAME"),
        password=pp.password or _secret(env, "PHOTOPRISM_PASSWORD"),
    )
    return replace(settings, immich=immich, photoprism=pp)


def build_settings(
    config_file: Path | None, flags: Mapping[str, Any], env: Mapping[str, str] | None = None
) -> Settings:
    environment = os.environ if env is None else env
    base = load_file(config_file, environment) if config_file else Settings()
    return with_env_secrets(merge_flags(base, flags), environment)
