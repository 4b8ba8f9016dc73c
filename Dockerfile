# Switchboard server image (used by docker-compose.yml).
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml README.md ./
COPY server ./server
COPY adapters ./adapters
COPY web ./web
RUN pip install --no-cache-dir .
RUN useradd --system --home /data switchboard && mkdir -p /data && chown switchboard /data
USER switchboard
VOLUME /data
EXPOSE 8000
# Run from /app (not site-packages) so the web/ assets next to server/ are served.
# Migrations run at start-up; `python -m server.cli migrate` runs them alone.
CMD ["python", "-m", "server.cli", "serve"]
