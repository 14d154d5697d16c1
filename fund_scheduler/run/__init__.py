"""Running one execution: the runner (history row, child process group, timeout, job log), the
APScheduler executor that feeds it, what a job function receives, and the child's side."""
