# One image per OnePlan service: docker build --build-arg SERVICE=children -t oneplan-children .
# The service runs its migrations at start (the app's lifespan) and answers /readyz once ready.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ARG SERVICE
RUN test -n "$SERVICE" || (echo "build with --build-arg SERVICE=<name under services/>" && false)
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /app
COPY pyproject.toml uv.lock ./
COPY libs ./libs
COPY services ./services
# Only this service and the libraries it depends on, installed as wheels (no source needed).
RUN uv sync --frozen --no-dev --no-editable --package "oneplan-${SERVICE}"

FROM ${PYTHON_IMAGE}
ARG SERVICE
ENV SERVICE=${SERVICE} \
    PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    ONEPLAN_VAR_DIR=/var/lib/oneplan
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin oneplan \
    && mkdir -p /var/lib/oneplan && chown oneplan /var/lib/oneplan
COPY --from=build /app/.venv /app/.venv
USER oneplan
WORKDIR /app
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=5 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=3)"]
# exec: the service (uvicorn inside, JSON logs from the first line) is PID 1 and gets the
# SIGTERM that `docker stop` sends, for a graceful shutdown.
CMD ["sh", "-c", "exec python -m oneplan_kit.serve \"${SERVICE}\" --host 0.0.0.0 --port 8000 --proxy-headers --graceful-shutdown 10"]
