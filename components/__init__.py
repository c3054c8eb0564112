"""Pulumi components of the workflow platform, one package per concern."""
