"""Gunicorn settings for production; every value can be overridden from the environment."""
import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8080')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Chosen by bench/load.py (300 members over 10 s, 900 open SSE streams, pipelines in RQ workers):
# gthread and gevent both gave p99 10-11 ms to the first event, lost nothing and finished about
# as many recommendations a minute (1,066 vs 1,057); gevent used less memory per stream (10 vs
# 44 KiB), gthread needs no monkey-patching of the app's own threads. Each open stream holds one thread.
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
