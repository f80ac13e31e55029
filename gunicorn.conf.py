"""Gunicorn settings for production; every value can be overridden from the environment."""
import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8080')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Chosen by bench/load.py (300 members, 900 open SSE streams, pipelines in RQ workers): gthread
# and gevent both gave p99 14 ms to the first event and lost nothing; gthread finished more
# recommendations per minute (567 vs 518) without monkey-patching the app's own threads, gevent
# used less memory per stream (26 vs 59 KiB). Each open stream holds one thread.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = int(os.environ.get("GUNICORN_THREADS", "500"))
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", "1000"))
# SSE responses stay open; the stream itself ends idle connections (STREAM_MAX_AGE_S).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = 30
keepalive = 75
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# Each worker loads the catalog and model itself; loading before fork would share threads badly.
preload_app = False
