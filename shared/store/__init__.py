"""Postgres access. SQL lives here or in the migrations, nowhere else."""
