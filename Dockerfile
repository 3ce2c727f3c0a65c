# syntax=docker/dockerfile:1
# circuitbot container image: a venv built in one stage, copied into a slim runtime as a non-root user.
#
#   docker build -t circuitbot .
#   docker run -p 3000:3000 -v circuitbot-data:/data \
#     -e SLACK_BOT_TOKEN -e SLACK_SIGNING_SECRET circuitbot            # HTTP mode (the default CMD)
#   docker run ... -e SLACK_APP_TOKEN circuitbot serve                  # Socket Mode, no inbound port needed

FROM python:3.11-slim AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /build
COPY pyproject.toml README.md ./
COPY src ./src
# a regular (not editable) install, so the venv holds everything and /build can be left behind;
# then the installers go: nothing at run time installs anything
RUN pip install . && pip check \
 && python -m pip uninstall --yes pip setuptools wheel


FROM python:3.11-slim

LABEL org.opencontainers.image.title="circuitbot" \
      org.opencontainers.image.description="Slack ChatOps bot for cloud interconnect circuits"

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CIRCUITBOT_DATA_DIR=/data

# the base image's own installers go too; then a fixed uid/gid so volume ownership and
# Kubernetes runAsUser/fsGroup line up
RUN python -m pip uninstall --yes pip setuptools wheel \
 && groupadd --system --gid 10001 circuitbot \
 && useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home \
            --shell /usr/sbin/nologin circuitbot \
 && mkdir -p /data \
 && chown 10001:10001 /data \
 && chmod 0750 /data

# owned by root and read-only for the bot: the running process cannot change its own code
COPY --from=builder /opt/venv /opt/venv

WORKDIR /data
VOLUME ["/data"]
USER 10001:10001

EXPOSE 3000
# slim has no curl: probe with the interpreter that is already there
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=4)"]

ENTRYPOINT ["circuitbot"]
CMD ["serve", "--http", "--port", "3000"]
