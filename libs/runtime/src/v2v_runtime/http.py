"""What every service's FastAPI app shares: health endpoints and RFC 9457 problem bodies."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from .auth.errors import AuthError, InvalidToken
from .errors import DomainError
from .eventstore import ConcurrencyError

PROBLEM_JSON = "application/problem+json"


class Problem(BaseModel):
    """RFC 9457 problem details; extra members (e.g. ``errors``, ``reason``) may follow."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str


def _problem_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


# Declared on every operation so the OpenAPI document says what errors really look like.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _problem_response("Malformed request"),
    401: _problem_response("Caller not identified"),
    403: _problem_response("Role not allowed"),
    404: _problem_response("Not found"),
    409: _problem_response("Conflicts with the current state"),
    422: _problem_response("Invalid request or refused by a domain rule"),
}

ReadinessCheck = Callable[[], Awaitable[None]]


def problem(
    status: int, title: str, detail: str, type_: str = "about:blank", **extra: Any
) -> JSONResponse:
    body = {"type": type_, "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def bearer_challenge(exc: InvalidToken) -> str:
    """RFC 6750 §3: no error code when no token came; else ``invalid_token`` and why."""
    if exc.reason == "missing":
        return 'Bearer realm="vein2vein"'
    return f'Bearer realm="vein2vein", error="invalid_token", error_description="{exc.detail}"'


def health_router(checks: Mapping[str, ReadinessCheck]) -> APIRouter:
    """``/healthz``: the process is alive. ``/readyz``: every dependency answers."""
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", response_model=None)
    async def readyz() -> dict[str, Any] | JSONResponse:
        results: dict[str, str] = {}
        for name, check in checks.items():
            try:
                await check()
                results[name] = "ok"
            except Exception as exc:
                results[name] = f"failing: {type(exc).__name__}: {exc}"
        if all(v == "ok" for v in results.values()):
            return {"status": "ready", "checks": results}
        return problem(503, "Not ready", "a dependency is not answering", checks=results)

    return router


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(ConcurrencyError)
    async def _conflict(_: Request, exc: ConcurrencyError) -> JSONResponse:
        return problem(
            409,
            "Concurrent change",
            str(exc),
            "urn:vein2vein:problem:concurrency-conflict",
            stream_id=exc.stream_id,
            expected_version=exc.expected,
        )

    @app.exception_handler(AuthError)
    async def _auth(_: Request, exc: AuthError) -> JSONResponse:
        extra = {"reason": exc.reason} if isinstance(exc, InvalidToken) else {}
        response = problem(
            exc.status, exc.title, exc.detail, f"urn:vein2vein:problem:{exc.code}", **extra
        )
        if isinstance(exc, InvalidToken):
            response.headers["WWW-Authenticate"] = bearer_challenge(exc)
        else:
            response.headers["Retry-After"] = "5"
        return response

    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        return problem(
            exc.status, exc.title, exc.detail, f"urn:vein2vein:problem:{exc.code}", **exc.extra
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {401: "Unauthenticated", 403: "Forbidden", 404: "Not found"}
        return problem(exc.status_code, titles.get(exc.status_code, "HTTP error"), str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return problem(
            422,
            "Invalid request",
            "the request does not match the API's schema",
            "urn:vein2vein:problem:validation",
            errors=errors,
        )
