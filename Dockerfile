# syntax=docker/dockerfile:1
# One image for both processes: `sreops operator` (the default command) and `sreops gateway`.
#   docker build -t sreops .
#   docker run sreops                      # the operator (needs a kubeconfig or a service account)
#   docker run -p 8000:8000 sreops gateway # the bots gateway
# tests/deploy/test_image_recipe.py runs the RUN steps below in fresh virtualenvs (there is no Docker engine
# in CI), so keep them plain `python`/`pip` commands over the paths that test maps: /src, /wheels, /opt/venv.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- builder: wheels for sreops and every dependency, pinned by constraints.txt --------------------------
FROM ${PYTHON_IMAGE} AS builder
# Bytecode is compiled here, into the virtualenv: the running container's root filesystem is read-only.
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY operator/ operator/
COPY bots/ bots/
COPY sreops/ sreops/
# -P keeps /src off sys.path: its operator/ folder would shadow the standard library's `operator`.
RUN python -P -m pip wheel --wheel-dir /wheels --constraint constraints.txt .
# The runtime: a virtualenv holding only sreops and its dependencies, from those wheels and nothing else
# (no pip or setuptools in it: the builder's pip installs into it).
RUN python -P -m venv --without-pip /opt/venv \
    && python -P -m pip --python /opt/venv/bin/python install --no-index --find-links /wheels \
       --constraint constraints.txt sreops

# --- runtime: no compiler, no pip, no source tree; a non-root user ----------------------------------------
FROM ${PYTHON_IMAGE}
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="sreops" \
      org.opencontainers.image.description="SRE operations assistant: a Kubernetes operator for AWS Patch Manager and Inspector, and its Slack/Teams gateway" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="https://github.com/sreops/sreops" \
      org.opencontainers.image.licenses="Apache-2.0" \
      io.sreops.entrypoints="sreops operator, sreops gateway"
RUN groupadd --system --gid 10001 sreops \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin sreops
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp
USER 10001:10001
WORKDIR /tmp
# 8000: the gateway (every route, /health, /metrics); 8080: the operator's /healthz; 9090: its /metrics.
EXPOSE 8000 8080 9090
# Whichever process runs answers on its own port: the operator's /healthz or the gateway's /health.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-P", "-m", "sreops.healthcheck"]
ENTRYPOINT ["sreops"]
CMD ["operator", "--log-format", "json"]
