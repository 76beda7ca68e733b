"""Deployment helpers: the source bundle, and the scheduler jobs for users without Terraform."""
