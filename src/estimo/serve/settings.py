"""Settings of the valuation service, read once (:func:`get_settings`).

Sources, highest first: keyword arguments, environment variables ``ESTIMO_SERVE__<KEY>``
(e.g. ``ESTIMO_SERVE__MEMORY_BUDGET_MB=512``, lists as JSON:
``ESTIMO_SERVE__HOT_CITIES='["Milano"]'``, nested keys with ``__``:
``ESTIMO_SERVE__GUARD__ANONYMOUS_TIER=public``), then the ``serve:`` section of the project file
(``estimo.yaml`` in the working directory, or the file named by ``ESTIMO_CONFIG``). A variable
set to ``null`` means none (``ESTIMO_SERVE__MODEL=null``).

Examples
--------
>>> ServeSettings(model="runs/model").memory_budget_mb
1024.0
>>> ServeSettings(model="runs/model", batch_max=500).batch_max
500
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from estimo.serve.guard.settings import GuardSettings
from estimo.yaml_text import read_yaml_file

__all__ = ["MonitorSettings", "ServeSettings", "get_settings", "project_file"]

ENV_PREFIX = "ESTIMO_SERVE__"
#: Languages of the words (the explainer's locales; kept here so the app starts without
#: importing the explainer, a test checks they agree).
LANGUAGES: tuple[str, ...] = ("en", "it", "es")
#: An environment variable set to this means "none" (``ESTIMO_SERVE__MODEL=null`` outranks a
#: ``model:`` in estimo.yaml: how ``estimo serve --registry`` says the model is not wanted).
NONE = "null"


def project_file() -> Path:
    """The project file whose ``serve:`` section is read (``ESTIMO_CONFIG`` or estimo.yaml)."""
    return Path(os.environ.get("ESTIMO_CONFIG", "estimo.yaml"))


class _ProjectFileSource(YamlConfigSettingsSource):
    """The ``serve:`` section of the project file, its relative SQLite stores resolved
    against the file's folder (as ``estimo monitor`` and ``estimo keys`` resolve them):
    ``sqlite:///runs/monitor.db`` is next to the project file wherever the service starts."""

    def __call__(self) -> dict[str, Any]:
        from estimo.config import resolve_sqlite_url

        values = super().__call__()
        base = Path(str(self.yaml_file_path)).resolve().parent
        for section, key in (("monitor", "store_url"), ("guard", "keys_url")):
            part = values.get(section)
            if isinstance(part, dict) and isinstance(part.get(key), str):
                values[section] = {**part, key: resolve_sqlite_url(part[key], base)}
        return values


def _has_serve_section(path: Path) -> bool:
    """Whether the project file exists and holds a ``serve:`` section (a project file
    without one, as ``estimo init`` writes it, means the defaults and the options given).

    Raises
    ------
    ConfigError
        If the file is not YAML (named with its line).
    """
    if not path.is_file():
        return False
    content = read_yaml_file(path)
    return isinstance(content, dict) and content.get("serve") is not None


class MonitorSettings(BaseModel):
    """``serve.monitor``: where served valuations are recorded and outcomes are sent.

    Examples
    --------
    >>> MonitorSettings(store_url="sqlite:///runs/monitor.db").flush_seconds
    1.0
    """

    model_config = ConfigDict(extra="forbid")

    store_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the monitoring store (sqlite:///runs/monitor.db, "
        "postgresql+psycopg://user@host/db); every valuation served is recorded there and "
        "POST /v1/outcomes writes there. None: nothing recorded, /v1/outcomes answers 503",
    )
    flush_seconds: float = Field(
        default=1.0,
        gt=0,
        description="served valuations are written this often, off the request path; a "
        "crash loses at most about this much traffic",
    )
    table_prefix: str = Field(default="", description="prefix of the store's table names")
    max_pending: int = Field(
        default=200_000, ge=1, description="rows kept in memory while the store is unreachable"
    )


class ServeSettings(BaseSettings):
    """Everything ``estimo serve`` can be told (see the module docstring)."""

    registry: str | None = Field(
        default=None, description="registry folder or URL; the bundles come from its aliases"
    )
    alias: str = Field(
        default="champion",
        description="alias of the global bundle; city bundles are aliases '<alias>--<city>'",
    )
    model: str | None = Field(
        default=None,
        description="a model folder, or a folder of bundles (one per city + '_global')",
    )
    host: str = Field(default="127.0.0.1", description="interface `estimo serve` listens on")
    port: int = Field(default=8000, ge=1, le=65535, description="TCP port of `estimo serve`")
    workers: int = Field(default=1, ge=1, description="worker processes of `estimo serve`")
    hot_cities: list[str] = Field(
        default_factory=list, description="cities loaded before /readyz says ready"
    )
    memory_budget_mb: float = Field(
        default=1024.0, gt=0, description="memory budget of the loaded bundles (MiB)"
    )
    batch_max: int = Field(default=100, ge=1, description="properties per batch request")
    coalesce: int = Field(
        default=16,
        ge=1,
        description="the most single valuations of one model valued together when they "
        "arrive while it is busy (no waiting when idle; 1: each valued alone)",
    )
    alias_poll_seconds: float = Field(
        default=5.0, ge=0, description="how often the aliases are re-read (0: never)"
    )
    start_retry_seconds: float = Field(
        default=1.0,
        gt=0,
        description="wait after a failed start (catalog unreadable, hot city not loadable) "
        "before the next attempt; doubled after each failure",
    )
    start_retry_max_seconds: float = Field(
        default=30.0, gt=0, description="the longest wait between two start attempts"
    )
    default_language: Literal["en", "it", "es"] = "en"
    extra_fields: list[str] = Field(
        default_factory=list,
        description="non-canonical feature columns accepted in a request (numbers or text)",
    )
    page_visit_url: str | None = Field(
        default=None,
        description="the valuation page's 'book a visit' link (none: the button is not shown)",
    )
    log_level: str = "INFO"
    threads_per_request: int = Field(
        default=1,
        ge=1,
        description="OpenMP threads of one valuation (OMP_NUM_THREADS unless set); "
        "scale with workers and pods, not threads",
    )

    cors_origins: list[str] = Field(
        default_factory=list,
        description="origins allowed to call from a browser (CORS); empty: none",
    )
    guard: GuardSettings = Field(
        default_factory=GuardSettings,
        description="API keys, tiers, limits and extraction detection",
    )
    monitor: MonitorSettings = Field(
        default_factory=MonitorSettings,
        description="the monitoring store: served valuations recorded, outcomes received",
    )

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", env_parse_none_str=NONE
    )

    @model_validator(mode="after")
    def _keys_with_the_monitoring_store(self) -> ServeSettings:
        """The API keys live in the monitoring store unless ``guard.keys_url`` says where:
        a service recording into PostgreSQL keeps its keys there too."""
        if self.guard.keys_url is None and self.monitor.store_url:
            self.guard.keys_url = self.monitor.store_url
        return self

    @model_validator(mode="after")
    def _one_source(self) -> ServeSettings:
        if (self.registry is None) == (self.model is None):
            raise ValueError(
                f"give exactly one of registry (got {self.registry!r}) or model "
                f"(got {self.model!r}): where the bundles to serve are"
            )
        return self

    @property
    def memory_budget_bytes(self) -> int:
        """The budget in bytes."""
        return int(self.memory_budget_mb * 1024 * 1024)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = project_file()
        if _has_serve_section(path):
            sources.append(
                _ProjectFileSource(settings_cls, yaml_file=path, yaml_config_section="serve")
            )
        return tuple(sources)


@lru_cache(maxsize=1)
def get_settings() -> ServeSettings:
    """The service's settings, read once per process."""
    return ServeSettings()
