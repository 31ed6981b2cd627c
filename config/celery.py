"""Celery application; tasks are discovered in the Django apps (their tasks.py) and in the capture jobs."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = Celery("linkshot")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(["snapshots.capture_jobs"])  # snapshots/capture_jobs/tasks.py
