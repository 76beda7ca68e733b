"""The command line: ``python -m learner`` (run the main job, generate one post, write the report)."""
