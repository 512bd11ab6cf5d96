"""boilerstrip flows: Prefect orchestration and I/O around the pure `cleaners` package.

The Python API, one function per CLI command, is `flows.api`:
    from flows.api import clean_file, evaluate, explain, ingest, inspect
"""
