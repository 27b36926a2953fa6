"""The simulator's knobs under /_sim/: the webhook URL, injected faults and latency, the month's
quota, rate limits, the simulated time, and a reset. Like `simulator.control`, no bearer token.
"""

from __future__ import annotations

import random
from typing import Any

from flask import Blueprint, Response, jsonify, request

from simulator.context import sim
from simulator.control import ControlError, control_error, json_object
from simulator.state import FAULT_KINDS, LATENCY_DISTRIBUTIONS, Faults, Latency, RateLimit

bp = Blueprint("sim_knobs", __name__, url_prefix="/_sim")
bp.register_error_handler(ControlError, control_error)


@bp.route("/webhook-url", methods=["GET", "POST"])
def webhook_url() -> Response:
    state = sim().state
    if request.method == "POST":
        body = json_object()
        url = body.get("url")
        if url is not None and (
            not isinstance(url, str) or not url.startswith(("http://", "https://"))
        ):
            raise ControlError(400, "'url' must be an http(s) URL or null")
        active = body.get("active", True)
        if not isinstance(active, bool):
            raise ControlError(400, "'active' must be true or false")
        with state.lock:
            state.webhook.url = url
            state.webhook.active = active
            for key, attr in (("timeoutSeconds", "timeout_seconds"), ("maxRetries", "max_retries")):
                if key in body:
                    value = body[key]
                    if not isinstance(value, int | float) or value < 0 or value > 60:
                        raise ControlError(400, f"'{key}' must be a number between 0 and 60")
                    setattr(state.webhook, attr, int(value) if key == "maxRetries" else value)
    with state.lock:
        settings = state.webhook
        return jsonify(
            {
                "url": settings.url,
                "active": settings.active,
                "timeoutSeconds": settings.timeout_seconds,
                "maxRetries": settings.max_retries,
            }
        )


@bp.route("/faults", methods=["GET", "POST"])
def faults() -> Response:
    """Shares of requests that fail on purpose, latency, recipients who block before delivery;
    a POST replaces them all (what it leaves out is off) and re-seeds the RNG."""
    state = sim().state
    if request.method == "POST":
        body = json_object()
        shares = {kind: body.get(kind, 0.0) for kind in FAULT_KINDS}
        if any(not _share(v) for v in shares.values()):
            raise ControlError(400, "fault shares must be numbers between 0 and 1")
        if sum(shares.values()) > 1:
            raise ControlError(400, "fault shares must add up to at most 1")
        seed = body.get("seed", 0)
        slow_seconds = body.get("slowSeconds", 1.0)
        paths = body.get("paths", [])
        block = body.get("blockBeforeDelivery", 0.0)
        if not isinstance(seed, int) or not isinstance(slow_seconds, int | float):
            raise ControlError(400, "'seed' must be an integer and 'slowSeconds' a number")
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise ControlError(400, "'paths' must be a list of path prefixes")
        if not _share(block):
            raise ControlError(400, "'blockBeforeDelivery' must be a number between 0 and 1")
        latency = _latency(body.get("latency"))
        with state.lock:
            state.faults = Faults(
                shares={kind: float(share) for kind, share in shares.items()},
                slow_seconds=slow_seconds,
                latency=latency,
                block_before_delivery=float(block),
                seed=seed,
                paths=tuple(paths),
                rng=random.Random(seed),  # noqa: S311 - repeatable test faults, not security
            )
    with state.lock:
        return jsonify(state.faults.to_json())


def _share(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1


def _latency(spec: Any) -> Latency | None:
    """``{"distribution": "uniform", "min": s, "max": s}`` or ``{"distribution":
    "exponential", "mean": s, "max": s}`` (seconds; the cap defaults to ten means)."""
    if spec is None:
        return None
    numbers = (
        {key: spec.get(key) for key in ("min", "max", "mean")} if isinstance(spec, dict) else {}
    )
    if (
        not isinstance(spec, dict)
        or spec.get("distribution") not in LATENCY_DISTRIBUTIONS
        or any(
            value is not None and (not isinstance(value, int | float) or value < 0)
            for value in numbers.values()
        )
    ):
        raise ControlError(
            400,
            '\'latency\' must be {"distribution": "uniform", "min": s, "max": s} or'
            ' {"distribution": "exponential", "mean": s, "max": s}',
        )
    if spec["distribution"] == "uniform":
        low, high = float(numbers["min"] or 0.0), float(numbers["max"] or 0.0)
        if high < low:
            raise ControlError(400, "latency 'max' must be at least its 'min'")
        return Latency("uniform", low=low, high=high)
    mean = float(numbers["mean"] or 0.0)
    high = float(numbers["max"]) if numbers["max"] is not None else 10 * mean
    return Latency("exponential", high=high, mean=mean)


@bp.route("/quota", methods=["GET", "POST"])
def quota() -> Response:
    state = sim().state
    if request.method == "POST":
        body = json_object()
        limit = body.get("limit")
        if limit is not None and (not isinstance(limit, int) or limit < 0):
            raise ControlError(400, "'limit' must be a non-negative integer or null (unlimited)")
        with state.lock:
            state.quota_limit = limit
            if "used" in body:
                used = body["used"]
                if not isinstance(used, int) or used < 0:
                    raise ControlError(400, "'used' must be a non-negative integer")
                state.quota_used[state.month_key()] = used
    with state.lock:
        return jsonify({"limit": state.quota_limit, "used": state.quota_usage()})


@bp.route("/rate-limits", methods=["GET", "POST"])
def rate_limits() -> Response:
    state = sim().state
    if request.method == "POST":
        body = json_object()
        with state.lock:
            if "enabled" in body:
                state.rate_limits_enabled = bool(body["enabled"])
            limits = body.get("limits", {})
            if not isinstance(limits, dict):
                raise ControlError(400, "'limits' must be an object")
            for kind, spec in limits.items():
                try:
                    limit = RateLimit(int(spec["requests"]), float(spec.get("perSeconds", 1.0)))
                except (TypeError, KeyError, ValueError) as exc:
                    raise ControlError(400, f"bad limit for {kind}") from exc
                if limit.requests < 0 or limit.per_seconds <= 0:
                    raise ControlError(400, f"bad limit for {kind}")
                state.rate_limits[kind] = limit
            state.rate_windows.clear()
    with state.lock:
        return jsonify(
            {
                "enabled": state.rate_limits_enabled,
                "limits": {
                    kind: {"requests": lim.requests, "perSeconds": lim.per_seconds}
                    for kind, lim in state.rate_limits.items()
                },
            }
        )


@bp.get("/time")
def get_time() -> Response:
    state = sim().state
    return jsonify({"now": state.now_ms(), "offsetSeconds": state.clock_offset})


@bp.post("/time/advance")
def advance_time() -> Response:
    seconds = json_object().get("seconds")
    if not isinstance(seconds, int | float) or seconds < 0:
        raise ControlError(400, "'seconds' must be a non-negative number")
    state = sim().state
    with state.lock:
        state.clock_offset += seconds
    return get_time()


@bp.post("/reset")
def reset() -> Response:
    sim().state.reset()
    return jsonify({"reset": True})


@bp.get("/")
def overview() -> Response:
    state = sim().state
    with state.lock:
        return jsonify(
            {
                "simulator": "LINE platform simulator",
                "users": len(state.users),
                "webhookUrl": state.webhook.url,
                "quota": {"limit": state.quota_limit, "used": state.quota_usage()},
                "botUserId": state.bot_user_id,
            }
        )
