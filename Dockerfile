# The portal's image: web (gunicorn), worker and beat all run from it.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
RUN useradd --create-home --uid 10001 waba

COPY pyproject.toml README.md ./
COPY waba_portal ./waba_portal
COPY accounts ./accounts
COPY senders ./senders
COPY templates_app ./templates_app
COPY inbox ./inbox
COPY locale ./locale
COPY manage.py ./
COPY scripts ./scripts
RUN pip install -e . \
 && SECRET_KEY=build-only-not-secret DATABASE_URL=sqlite:////tmp/build.sqlite3 \
    python manage.py collectstatic --noinput \
 && mkdir -p /app/var /app/media && chown -R waba /app/var /app/media

USER waba
EXPOSE 8000
CMD ["gunicorn", "waba_portal.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
