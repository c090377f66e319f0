"""The guard of the valuation service: who calls, what they may see, how much, and why not.

* :mod:`~estimo.serve.guard.keys`: API keys (salted hashes in a database) and their tiers.
* :mod:`~estimo.serve.guard.tiers`: the answer each tier sees.
* :mod:`~estimo.serve.guard.limiter`: limits per key and per address (memory or Redis).
* :mod:`~estimo.serve.guard.extraction`: detection of model-extraction traffic.
* :mod:`~estimo.serve.guard.body`: the request-size limit (413).

:class:`Guard` puts them together; the routes use two dependencies: :data:`ClientDep`
(identify the caller: 401 without a valid key unless anonymous access is on) and
:data:`GuardDep`, whose :meth:`Guard.admit` (429, 403) and :meth:`Guard.shape` they call.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request

from estimo.serve.guard.captcha import CaptchaVerifier, load_verifier
from estimo.serve.guard.extraction import SEVERITY, AuditLog, ExtractionDetector, FeatureScale
from estimo.serve.guard.keys import KeyStore
from estimo.serve.guard.limiter import Limiter
from estimo.serve.guard.settings import DEFAULT_KEYS_URL, GuardSettings
from estimo.serve.guard.tiers import PublicShaping, shape_answer
from estimo.serve.problems import ProblemError

log = logging.getLogger(__name__)

__all__ = ["Client", "ClientDep", "Guard", "GuardDep", "get_client", "get_guard"]


@dataclass(frozen=True)
class Client:
    """The caller of one request.

    Attributes
    ----------
    identity : str
        ``key:<key_id>``, or ``anon:<address>`` without a key.
    tier : str
        ``internal``, ``partner`` or ``public``.
    address : str
        The client's address.
    """

    identity: str
    tier: str
    address: str


class Guard:
    """Keys, limits, detection and answer shaping of one app (see the module docstring).

    Parameters
    ----------
    settings : GuardSettings
        The ``serve.guard`` section.
    captcha : CaptchaVerifier, optional
        Default: the one named by ``settings.captcha_verifier`` (or none).
    scale : FeatureScale, optional
        Standardisation of the detector (default: running over all traffic).
    """

    def __init__(
        self,
        settings: GuardSettings,
        captcha: CaptchaVerifier | None = None,
        scale: FeatureScale | None = None,
    ) -> None:
        self.settings = settings
        self.captcha = captcha or load_verifier(settings.captcha_verifier)
        self.limiter = Limiter(settings.limits_storage, settings.limits_namespace)
        self.audit = AuditLog(settings.extraction.audit_log)
        self.detector = ExtractionDetector(settings.extraction, scale, self.audit)
        secret = settings.public_shift_secret
        if settings.public_shift and secret is None:
            log.warning(
                "serve.guard.public_shift is on without public_shift_secret: the shift is "
                "keyed per process, so pods (and restarts) shift differently; set the secret"
            )
        self.shaping = PublicShaping(
            relative_step=settings.public_relative_step,
            price_step=settings.public_price_step,
            shift=settings.public_shift,
            size_band=settings.public_shift_size_band,
            n_reasons=settings.public_reasons,
            **({"secret": secret.get_secret_value().encode()} if secret else {}),
        )
        self._keys: KeyStore | None = None
        self._keys_lock = threading.Lock()

    @property
    def keys(self) -> KeyStore:
        """The key store, opened on first use (an anonymous-only service never opens it)."""
        with self._keys_lock:
            if self._keys is None:
                self._keys = KeyStore.from_url(
                    self.settings.keys_url or DEFAULT_KEYS_URL, self.settings.keys_cache_seconds
                )
            return self._keys

    def identify(self, presented: str | None, address: str) -> Client:
        """The caller of a request with key ``presented`` (or none) from ``address``.

        Raises
        ------
        ProblemError
            401 if the key is unknown or revoked, or missing while anonymous access is off.
        """
        if presented:
            key = self.keys.verify(presented)
            if key is None:
                raise _unauthorized("the API key is unknown or revoked")
            return Client(f"key:{key.key_id}", key.tier, address)
        if self.settings.anonymous_tier is None:
            raise _unauthorized(
                "an API key is required: send it as 'X-API-Key: <key>' or "
                "'Authorization: Bearer <key>'"
            )
        return Client(f"anon:{address}", self.settings.anonymous_tier, address)

    def learn_scale(self, training: Any) -> bool:
        """Judge queries against the served model's training rows (``training``: a frame
        with the detector's features) instead of the traffic seen so far; a scale given
        when the guard was made is kept. Returns whether the scale changed.

        A fresh process knows no traffic: its running scale divides by 1 for the first
        queries and read an honest owner's ordinary home as out of distribution (throttled
        at query 41 of a one-city client)."""
        if training is None or self.detector.scale.known:
            return False
        self.detector.use_scale(FeatureScale.from_frame(training))
        log.info("extraction detection judges queries against the model's training rows")
        return True

    def admit(
        self,
        client: Client,
        records: Sequence[Mapping[str, Any]],
        captcha_token: str | None = None,
        cost: int | None = None,
    ) -> None:
        """Let a request of ``records`` through, or raise its problem.

        ``cost`` (default: ``len(records)``, at least 1) is what the request counts against
        the limits (a batch counts every property, valid or not).

        Raises
        ------
        ProblemError
            413 for a batch larger than the client's limits ever let through at once; 429
            (``Retry-After``) over a limit or while throttled; 403 when blocked, or when a
            captcha is required and the token is missing or wrong.
        """
        cost = max(1, len(records) if cost is None else cost)
        s = self.settings
        key_limit = s.key_limits.get(client.tier, s.address_limit)  # type: ignore[call-overload]
        limits = (
            (s.address_limit, "address", client.address),
            (key_limit, "client", client.identity),
        )
        most = min(self.limiter.largest(limit) for limit, *_ in limits)
        if cost > most:  # waiting never helps: say how many fit instead of "retry later"
            raise ProblemError(
                413,
                "batch-too-large",
                "Batch too large",
                f"a batch of {cost} properties is more than this client's limits let through "
                f"at once ({most}); send at most {most} per request",
            )
        # a request one limit refuses is charged to none (it would eat the other's quota)
        for limit, *identity in limits:
            wait = self.limiter.wait(limit, *identity, cost=cost)
            if wait is not None:
                raise _too_many(wait, "the request limit of this client is reached")
        for limit, *identity in limits:  # a request racing past the check is refused here
            wait = self.limiter.hit(limit, *identity, cost=cost)
            if wait is not None:
                raise _too_many(wait, "the request limit of this client is reached")
        if not s.extraction.enabled or client.tier in s.extraction.exempt_tiers:
            return
        verdict = self.detector.observe(client.identity, records)
        if client.identity != f"anon:{client.address}":
            # a keyed client is watched per address too: a sweep spread over several keys
            # from one address is still one sweep; the stricter verdict applies
            shared = self.detector.observe(f"address:{client.address}", records)
            if SEVERITY[shared.action] > SEVERITY[verdict.action]:
                verdict = shared
        if verdict.action == "block":
            raise ProblemError(
                403,
                "blocked",
                "Blocked",
                "this client's queries look like an attempt to copy the model; "
                "contact the operator",
            )
        if verdict.action == "captcha":
            ok = bool(
                captcha_token
                and self.captcha is not None
                and self.captcha.verify(captcha_token, client.identity)
            )
            if not ok:
                raise ProblemError(
                    403,
                    "captcha-required",
                    "Captcha required",
                    "solve the captcha and send its token in the X-Captcha-Token header",
                )
        if verdict.action == "throttle":
            wait = self.limiter.hit(
                s.extraction.throttle_limit, "throttle", client.identity, cost=cost
            )
            if wait is not None:
                raise _too_many(wait, "this client is throttled")

    def shape(
        self, answer: dict[str, Any], client: Client, record: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """The answer as the client's tier may see it (``record``: the property valued,
        whose market cell keys the public shift)."""
        return shape_answer(answer, client.tier, self.shaping, record)


def _unauthorized(detail: str) -> ProblemError:
    return ProblemError(
        401, "unauthorized", "Unauthorized", detail, headers={"WWW-Authenticate": "Bearer"}
    )


def _too_many(wait: float, detail: str) -> ProblemError:
    seconds = str(int(max(1, wait)))
    return ProblemError(
        429,
        "too-many-requests",
        "Too many requests",
        f"{detail}; retry after {seconds} s",
        headers={"Retry-After": seconds},
    )


def get_guard(request: Request) -> Guard:
    """The app's guard."""
    return request.app.state.guard


def client_address(request: Request, trust_forwarded_for: bool, hops: int = 1) -> str:
    """The caller's address: the TCP peer's, or, behind ``hops`` proxies that each append
    the address they saw to ``X-Forwarded-For`` (trusted), the hop ``hops`` from the right.
    Hops further left were written by the client and are never taken (a client rotating a
    made-up first hop would get a fresh limit with each request)."""
    if trust_forwarded_for:
        forwarded = request.headers.get("x-forwarded-for", "")
        seen = [h.strip() for h in forwarded.split(",") if h.strip()]
        if seen:
            return seen[-min(hops, len(seen))][:64]
    return request.client.host if request.client else "unknown"


def get_client(
    request: Request,
    guard: Annotated[Guard, Depends(get_guard)],
    x_api_key: Annotated[str | None, Header(description="your API key")] = None,
    authorization: Annotated[
        str | None, Header(description="'Bearer <API key>' (instead of X-API-Key)")
    ] = None,
) -> Client:
    """Who calls (401 if they may not)."""
    presented = x_api_key
    if not presented and authorization and authorization.lower().startswith("bearer "):
        presented = authorization[7:].strip()
    address = client_address(
        request, guard.settings.trust_forwarded_for, guard.settings.forwarded_hops
    )
    return guard.identify(presented, address)


GuardDep = Annotated[Guard, Depends(get_guard)]
ClientDep = Annotated[Client, Depends(get_client)]
