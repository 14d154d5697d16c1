"""Runs on Celery workers on other hosts: the Celery app and its settings, the task a worker
runs for each message, and the ``worker`` command's process."""
