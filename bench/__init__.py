"""
PIE's benchmarks, run from the repository root with the project's virtualenv:

    .venv/bin/python -m bench.api [sequential|load|summary]   # API ratios to GET /health/
    .venv/bin/python -m bench.imports                         # bulk_insert_intents rows/s
    .venv/bin/python -m bench.events                          # event consumer vs its floor
    .venv/bin/python -m bench.intents_csv --rows N --out F    # the CSV every seed comes from

They share bench.harness (scratch database, seeding through the import, gunicorn with
production settings, tokens from pie.apps.core.dev_tokens, timing against GET /health/).
docs/performance.rst gives each one's command, data, machine, figures and limits.
"""
