"""Scheduled jobs: thin entry points ``run(deps, *, now, ...)`` that call ``bot.services``.

``jobs.scheduler`` runs them on APScheduler (``artifact-bot worker`` and ``serve``);
``jobs.runner.run_job`` runs one now, in the foreground (``artifact-bot jobs run NAME``).
"""
