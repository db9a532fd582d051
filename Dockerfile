# Production image: gunicorn serves the web, the same image runs the Celery worker and beat.
# Build context: only what .dockerignore lets in (code, templates, static files, translations; never
# .env, .var, logs or keys). The image holds no secret: they come from the environment at run time.
FROM python:3.11-slim-bookworm
# PYTHONPATH: the code in /app, not a copy in site-packages, is what runs (manage.py, gunicorn, celery).
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PYTHONPATH=/app DJANGO_SETTINGS_MODULE=erp.settings.production
RUN apt-get update && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . .
# collectstatic with production's storage (hashed, compressed names); erp.settings.build stands in for
# the secrets production requires, for this one command only (nothing is signed or decrypted here).
RUN pip install --no-cache-dir -c constraints.txt . \
    && DJANGO_SETTINGS_MODULE=erp.settings.build python manage.py collectstatic --noinput
RUN useradd --system --uid 1000 fanout && chown -R fanout /app
USER fanout
EXPOSE 8000
# gunicorn.conf.py: workers, timeout, recycling (--max-requests with jitter).
CMD ["gunicorn", "-c", "gunicorn.conf.py", "--bind", "0.0.0.0:8000", "erp.wsgi"]
