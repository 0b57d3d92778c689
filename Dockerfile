# Galápagos API image: installs the package exactly as `make install` does, runs as non-root.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    GALAPAGOS_CONFIG_DIR=/app/resources/config \
    GALAPAGOS_DATA_DIR=/var/lib/galapagos \
    ENV=prod

RUN useradd --system --create-home --uid 10001 galapagos \
    && mkdir -p /var/lib/galapagos && chown galapagos /var/lib/galapagos

WORKDIR /app
COPY pyproject.toml README.md ./
COPY model ./model
COPY core ./core
COPY app_layer ./app_layer
COPY runtime ./runtime
COPY resources ./resources
RUN pip install --quiet -e .

USER galapagos
EXPOSE 8000
# ENV=prod requires MYSQL_HOST, MYSQL_DATABASE, MYSQL_USERNAME, MYSQL_PASSWORD.
# Run `galapagos migrate` once per release (e.g. as an init container) before the API starts.
CMD ["galapagos", "api", "--host", "0.0.0.0", "--port", "8000"]
