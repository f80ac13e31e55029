"""Gunicorn settings for production, from the app's settings (config.py reads the environment once)."""
from config import load_settings

settings = load_settings()

bind = f"0.0.0.0:{settings.port}"
workers = settings.web_concurrency
# Chosen by bench/load.py (300 members over 10 s, 900 open SSE streams, pipelines in RQ workers):
# gthread and gevent both gave p99 10-11 ms to the first event, lost nothing and finished about
# as many recommendations a minute (1,066 vs 1,057); gevent used less memory per stream (10 vs
# 44 KiB), gthread needs no monkey-patching of the app's own threads. Each open stream holds one thread.
worker_class = settings.gunicorn_worker_class
threads = settings.gunicorn_threads
worker_connections = settings.gunicorn_worker_connections
# SSE responses stay open; the stream itself ends idle connections (STREAM_MAX_AGE_S).
timeout = settings.gunicorn_timeout
graceful_timeout = 30
keepalive = 75
accesslog = "-"
errorlog = "-"
loglevel = settings.log_level.lower()
# Each worker loads the catalog and model itself; loading before fork would share threads badly.
preload_app = False
