# PIE production image: gunicorn serving pie.wsgi with pie.settings.production.
# Configure it with PIE_CFG (a mounted YAML file) and/or environment variables; see
# docs/operations.rst. Run migrations on demand:  docker run ... pie migrate
FROM python:3.11-slim-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential pkg-config default-libmysqlclient-dev \
    && rm -rf /var/lib/apt/lists/*
COPY requirements/ /tmp/requirements/
RUN python -m venv /venv && /venv/bin/pip install --no-cache-dir -r /tmp/requirements/production.txt

FROM python:3.11-slim-bookworm
RUN apt-get update \
    && apt-get install -y --no-install-recommends libmariadb3 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /app pie
COPY --from=build /venv /venv
WORKDIR /app
COPY --chown=pie:pie . /app
ENV PATH="/venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=pie.settings.production \
    STATIC_ROOT=/app/static
USER pie
EXPOSE 18781
ENTRYPOINT ["/app/docker-entrypoint.sh"]
CMD ["serve"]
