# Kairan's image: one image for every process (web, worker, clock, migrate); compose.yaml and
# docs/deploy.md say which command each runs. Built from the package, not the checkout: the wheel
# holds the templates, translations and migrations (tests/unit/test_packaging.py checks it).
#
#   docker build -t kairan .
#
# Debian 12 (bookworm) throughout: its postgresql-client (15) must be at least the server's major
# version for `kairan backup` (pg_dump), so compose.yaml runs PostgreSQL 15.

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY linebot_app ./linebot_app
COPY models ./models
COPY broadcasts ./broadcasts
COPY migrations ./migrations
COPY simulator ./simulator
# Kairan and every dependency as wheels, so the final image needs no compiler.
RUN pip wheel --wheel-dir /wheels .

FROM python:3.11-slim-bookworm
# fonts-noto-cjk: the Japanese font the rich menu image and the join flyers are drawn with.
# postgresql-client: pg_dump and pg_restore for `kairan backup`.
# Debian's security updates move these versions: pinning them would break the build instead.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-noto-cjk postgresql-client \
    && rm -rf /var/lib/apt/lists/*
# No login shell and no password: the processes run as this user, never as root.
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/kairan --create-home \
        --shell /usr/sbin/nologin kairan \
    && mkdir -p /var/lib/kairan/uploads /var/lib/kairan/backups \
    && chown -R kairan:kairan /var/lib/kairan
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index /wheels/*.whl && rm -rf /wheels

# By number, so that a runtime (or Kubernetes' runAsNonRoot) can tell it is not root.
USER 10001:10001
WORKDIR /var/lib/kairan
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    KAIRAN_UPLOAD_DIR=/var/lib/kairan/uploads \
    HOST=0.0.0.0 \
    PORT=8000
EXPOSE 8000
# Health checks are compose.yaml's, per process: only `web` answers /healthz on port 8000.
# The Procfile's `web`; compose.yaml and the systemd units give the other processes' commands.
CMD ["gunicorn", "--config", "python:linebot_app.gunicorn_conf", "linebot_app:create_app()"]
