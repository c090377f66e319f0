"""Settings of the guard: ``serve.guard`` in estimo.yaml (env ``ESTIMO_SERVE__GUARD__*``).

Examples
--------
>>> GuardSettings().anonymous_tier is None
True
>>> GuardSettings(key_limits={"public": "1/second"}).key_limits["public"]
'1/second'
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

__all__ = ["Action", "ExtractionSettings", "GuardSettings", "Signal"]

Action = Literal["allow", "throttle", "captcha", "block"]
Signal = Literal["prada", "sweep", "cities", "coverage", "ood"]
TierName = Literal["internal", "partner", "public"]


def _check_limit(value: str) -> str:
    from limits import parse_many

    try:
        parse_many(value)
    except ValueError:
        raise ValueError(
            f"rate limit {value[:60]!r} is not understood; expected e.g. '5/second;1000/day'"
        ) from None
    return value


class ExtractionSettings(BaseModel):
    """Thresholds of the extraction detector (:mod:`estimo.serve.guard.extraction`)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    exempt_tiers: list[TierName] = Field(
        default_factory=lambda: ["internal"], description="tiers never checked"
    )
    min_queries: int = Field(default=40, ge=10, description="queries before any verdict")
    window: int = Field(default=500, ge=20, description="last queries kept per client")
    prada_threshold: float = Field(
        default=0.80,
        gt=0,
        lt=1,
        description="Shapiro-Wilk W (of the square roots of the minimum distances) below "
        "which a client is flagged",
    )
    sweep_window: int = Field(default=30, ge=5, description="last steps checked for sweeps")
    sweep_share: float = Field(
        default=0.5, gt=0, le=1, description="share of one-feature steps that flags a sweep"
    )
    max_cities: int = Field(default=12, ge=2, description="distinct cities in the window")
    coverage_cities: float = Field(
        default=3.5,
        gt=1,
        description="effective number of cities (inverse Simpson index of the client's "
        "city shares) that flags a client covering the whole market; an agency working "
        "in one, two or three cities stays below 3.5, a sample of a market of six cities "
        "scores its own index (4.8 for the synthetic market, 6.7 for Poland)",
    )
    coverage_min_queries: int = Field(
        default=200, ge=20, description="queries before the coverage signal is checked"
    )
    ood_z: float = Field(default=4.0, gt=0, description="|z| that makes a query out of range")
    ood_share: float = Field(default=0.25, gt=0, le=1, description="share that flags a client")
    actions: dict[Signal, Action] = Field(
        default_factory=lambda: {
            "prada": "captcha",
            "sweep": "block",
            "cities": "throttle",
            "coverage": "captcha",
            "ood": "throttle",
        },
        description="what each signal does (the strictest fired action wins; a signal "
        "left out of a given mapping only allows)",
    )
    throttle_limit: str = Field(default="1/second;300/day", description="limit when throttled")
    block_seconds: float = Field(default=3600.0, gt=0, description="how long a block lasts")
    audit_log: str | None = Field(
        default=None, description="JSON-lines file of every decision (default: the log only)"
    )

    @field_validator("throttle_limit")
    @classmethod
    def _limit(cls, value: str) -> str:
        return _check_limit(value)


#: The key store when neither ``keys_url`` nor the service's monitoring store is set.
DEFAULT_KEYS_URL = "sqlite:///runs/monitor.db"


class GuardSettings(BaseModel):
    """Keys, tiers, limits and extraction detection of the service."""

    model_config = ConfigDict(extra="forbid")

    keys_url: str | None = Field(
        default=None,
        description="database of the API keys (default: the service's monitoring store, "
        f"serve.monitor.store_url, else {DEFAULT_KEYS_URL})",
    )
    keys_cache_seconds: float = Field(
        default=30.0, ge=0, description="a revoked key works at most this long in other pods"
    )
    anonymous_tier: TierName | None = Field(
        default=None, description="tier of requests without a key (None: a key is required)"
    )
    public_price_step: float | None = Field(
        default=None,
        gt=0,
        description="a fixed rounding step of public prices (default: the relative step)",
    )
    public_relative_step: float = Field(
        default=0.02,
        gt=0,
        lt=0.5,
        description="public prices are rounded to a 1-2-5 step at most this share of the "
        "price (2 %: 5,000 for a 400,000 home, 20 for a 1,500 rent)",
    )
    public_shift: float = Field(
        default=0.0,
        ge=0,
        le=0.25,
        description="keyed shift of public prices per city and size band (0.08: every "
        "public price 8 % up or down, the same for a cell's homes; 0: none); see "
        "benchmarks/extraction.py for what it costs an owner and an attacker",
    )
    public_shift_size_band: float = Field(
        default=2.0, gt=1, description="living-area ratio of the shift's size bands"
    )
    public_shift_secret: SecretStr | None = Field(
        default=None,
        description="key of the shift's hash; set it (ESTIMO_SERVE__GUARD__PUBLIC_SHIFT_SECRET) "
        "so that every pod shifts alike (default: random per process)",
    )
    public_reasons: int = Field(default=3, ge=0, description="reasons (words only) shown publicly")
    limits_storage: str = Field(
        default="memory://",
        description="'memory://' (one process) or 'redis://host:6379' (shared by pods)",
    )
    limits_namespace: str = Field(
        default="estimo", description="prefix of the counters (services sharing one Redis)"
    )
    key_limits: dict[TierName, str] = Field(
        default_factory=lambda: {
            "internal": "100/second;5000000/day",
            "partner": "20/second;200000/day",
            "public": "2/second;300/day",
        },
        description="limits per key (per anonymous address for the anonymous tier) by tier",
    )
    address_limit: str = Field(
        default="100/second;100000/day",
        description="limits per client address, whatever the key (a batch counts each "
        "property: the per-second amount is the largest batch an address can send)",
    )
    trust_forwarded_for: bool = Field(
        default=False,
        description="take the client address from X-Forwarded-For (only behind a proxy)",
    )
    forwarded_hops: int = Field(
        default=1,
        ge=1,
        le=10,
        description="proxies in front of the service that append to X-Forwarded-For: the "
        "address is that many hops from the right (hops further left are the client's own "
        "words)",
    )
    captcha_verifier: str | None = Field(
        default=None, description="'package.module:factory' of the captcha verifier"
    )
    page_tier: TierName = Field(
        default="public",
        description="tier of the valuation page's answers (its requests count against the "
        "limits of an anonymous caller of this tier, per address)",
    )
    captcha_widget_html: str | None = Field(
        default=None,
        description="the captcha provider's widget, shown in the page's form when a captcha "
        "is required; it must post its token as a form field (captcha_token, "
        "h-captcha-response, g-recaptcha-response or cf-turnstile-response)",
    )
    max_body_bytes: int = Field(default=1_000_000, ge=1024, description="413 above this")
    extraction: ExtractionSettings = Field(default_factory=ExtractionSettings)

    @field_validator("address_limit")
    @classmethod
    def _address(cls, value: str) -> str:
        return _check_limit(value)

    @field_validator("key_limits")
    @classmethod
    def _keys(cls, value: dict[str, str]) -> dict[str, str]:
        for limit in value.values():
            _check_limit(limit)
        return value
