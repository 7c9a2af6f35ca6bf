# JasPing's image: one image for the web processes, the workers and the migration job (the command differs).
# NOT BUILT in the session that wrote it (no image registry was reachable): see docs/operations.md, "The image".
#
# Reproducible: the base image is pinned by digest (replace the placeholder below with the digest you vetted:
# `docker buildx imagetools inspect python:3.11-slim-bookworm`), and Python packages come from
# deploy/requirements.lock (exact versions, no resolver) with the project installed without its dependencies.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:0000000000000000000000000000000000000000000000000000000000000000

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/jasping
COPY deploy/requirements.lock /tmp/requirements.lock
RUN /opt/jasping/bin/pip install --no-deps -r /tmp/requirements.lock
COPY pyproject.toml README.md /src/
COPY src /src/src
RUN /opt/jasping/bin/pip install --no-deps /src && /opt/jasping/bin/jasping --help >/dev/null

FROM ${PYTHON_IMAGE}
# A user of its own, no shell login, no write access outside the data directory.
RUN groupadd --system --gid 10001 jasping \
    && useradd --system --uid 10001 --gid jasping --home-dir /var/lib/jasping --shell /usr/sbin/nologin jasping \
    && mkdir -p /var/lib/jasping && chown jasping:jasping /var/lib/jasping
COPY --from=build /opt/jasping /opt/jasping
ENV PATH=/opt/jasping/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONTZPATH= \
    JASPING_DATA_DIR=/var/lib/jasping \
    JASPING_LOG_FORMAT=json \
    HOST=0.0.0.0 \
    PORT=8000
USER 10001:10001
WORKDIR /var/lib/jasping
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"
# Web: `jasping serve --no-worker` (workers run apart); worker: `jasping worker --processes 2`; migration: `jasping migrate`.
CMD ["jasping", "serve", "--no-worker", "--host", "0.0.0.0", "--port", "8000", "--demo-port", "0"]
