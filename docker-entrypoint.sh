#!/bin/sh
# serve (default): collect static files and run gunicorn. migrate: apply migrations.
# Anything else runs as a manage.py command, e.g. `bulk_insert_intents /data/file.csv`.
set -e
case "$1" in
    serve)
        python manage.py collectstatic --noinput --verbosity 0
        exec gunicorn --config gunicorn.conf.py pie.wsgi:application ;;
    migrate)
        exec python manage.py migrate --noinput ;;
    *)
        exec python manage.py "$@" ;;
esac
