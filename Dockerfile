# syntax=docker/dockerfile:1
# One Dockerfile for every vein2vein service; the SERVICE build argument picks which one.
# Build from the repository root, one image per service:
#   docker build --build-arg SERVICE=custody -t vein2vein/custody:local .
#   docker build --build-arg SERVICE=journey --build-arg DEFAULT_ROLE=worker \
#       -t vein2vein/journey:local .
# The command picks the role: `docker run IMAGE consumer`. Roles: api (default), consumer,
# relay, migrate, rebuild (one-shots) for custody, logistics, batch and qc; worker (default),
# bridge and migrate for journey.
ARG SERVICE
ARG DEFAULT_ROLE=api

# ---- builder: the locked dependencies, then the service, into /app/.venv (uv's recipe) ----
# Same Python image as the runtime stage: the virtualenv points at /usr/local/bin/python3.11,
# so both stages must have the same interpreter at the same path.
FROM python:3.11.14-slim-bookworm AS builder
ARG SERVICE
# uv pinned to the version that writes uv.lock; only the static binary, from uv's own image.
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /bin/uv
# Bytecode compiled at build time (faster start, nothing written at run time); copy, not
# hard links, because the uv cache is a mount on another filesystem; never download a Python.
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=0
WORKDIR /app

# Dependencies layer: only the lock and the pyproject.toml of the root and of every workspace
# member (uv reads the whole workspace), so this layer stays cached until one of them changes.
COPY pyproject.toml uv.lock ./
COPY libs/events/pyproject.toml libs/events/
COPY libs/runtime/pyproject.toml libs/runtime/
COPY libs/cli/pyproject.toml libs/cli/
COPY services/custody/pyproject.toml services/custody/
COPY services/logistics/pyproject.toml services/logistics/
COPY services/batch/pyproject.toml services/batch/
COPY services/qc/pyproject.toml services/qc/
COPY services/journey/pyproject.toml services/journey/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package v2v-${SERVICE}

# Source of the members this service needs (.dockerignore keeps tests and caches out), then
# install them as wheels, not editable: the runtime stage has the virtualenv and no source tree.
COPY libs/events libs/events
COPY libs/runtime libs/runtime
COPY services/${SERVICE} services/${SERVICE}
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package v2v-${SERVICE}

# ---- runtime: the interpreter and the virtualenv; no uv, no compilers, no source ----
FROM python:3.11.14-slim-bookworm
ARG SERVICE
ARG DEFAULT_ROLE
LABEL org.opencontainers.image.title="vein2vein ${SERVICE}"
# A fixed numeric UID/GID, so Kubernetes runAsUser/fsGroup and volume ownership can match it.
# /app/.v2v is the only writable place: the embedded SQLite default (./.v2v/db) when no
# V2V_DATABASE_URL is given. The virtualenv stays owned by root, read-only for the service.
RUN groupadd --system --gid 10001 v2v \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /app \
       --shell /usr/sbin/nologin v2v \
    && mkdir -p /app/.v2v \
    && chown 10001:10001 /app/.v2v
WORKDIR /app
COPY --from=builder /app/.venv /app/.venv
# Bind all interfaces on the API port inside the container; JSON logs for collectors.
# Which service this image runs, and its role when none is given (v2v_runtime.image).
ENV PATH="/app/.venv/bin:$PATH" \
    V2V_IMAGE_SERVICE=${SERVICE} \
    V2V_IMAGE_DEFAULT_ROLE=${DEFAULT_ROLE} \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    V2V_HTTP_HOST=0.0.0.0 \
    V2V_HTTP_PORT=8080 \
    V2V_LOG_JSON=true
USER 10001:10001
# 8080: the api role. 8081: /healthz and /readyz of the other roles when V2V_HEALTH_PORT=8081
# (without it they serve no health endpoint and this HEALTHCHECK reports them unhealthy).
EXPOSE 8080 8081
# Probes /healthz on V2V_HEALTH_PORT, else V2V_HTTP_PORT (stdlib only, answers within ~3 s).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-m", "v2v_runtime.healthcheck"]
ENTRYPOINT ["python", "-m", "v2v_runtime.image"]
