"""The benchmark suite: tasks, metrics, runs of every method, reports and plots."""
