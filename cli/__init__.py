"""The command line: ``python -m cli`` (run the main job, generate one post, write the report)."""
