#!/bin/sh
# The image's entry point. Its arguments are one of:
#   serve (the default)   collect static files, then run gunicorn with gunicorn.conf.py
#   migrate               apply migrations
#   PROGRAM ARGS...       a program (a path, or a name found on PATH) runs unchanged, e.g.
#                         Tutor's job steps `sh -e -c "..."` or `gunicorn ...`
#   COMMAND ARGS...       anything else is a manage.py command, e.g.
#                         `bulk_insert_intents /data/file.csv`, `consume_events ...`
#   manage COMMAND ARGS...  a manage.py command whose name is also a program (e.g. `test`)
set -e
[ "$#" -gt 0 ] || set -- serve
case "$1" in
    serve)
        python manage.py collectstatic --noinput --verbosity 0
        exec gunicorn --config gunicorn.conf.py pie.wsgi:application ;;
    migrate)
        shift
        exec python manage.py migrate --noinput "$@" ;;
    manage)
        shift
        exec python manage.py "$@" ;;
esac
# `command -v` prints a path for a program and a bare name for a shell builtin or function.
case "$(command -v -- "$1" || true)" in
    */*) exec "$@" ;;
    *) exec python manage.py "$@" ;;
esac
