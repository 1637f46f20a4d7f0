FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

# The exact versions of requirements.lock first (a layer that changes only with the lock).
COPY requirements.lock ./
RUN pip install --upgrade pip && pip install -r requirements.lock

COPY . .
RUN pip install --no-deps . \
    && DEBUG=false SECRET_KEY=collectstatic-only ALLOWED_HOSTS=localhost \
       python manage.py collectstatic --no-input \
    && useradd --create-home --uid 1000 portal
USER portal

EXPOSE 8000
# gunicorn.conf.py: access and error logs with link tokens redacted.
CMD ["gunicorn", "--config", "gunicorn.conf.py", "portal.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
