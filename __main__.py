"""Pulumi program: validate the stage's configuration, then declare the platform."""

from components import program

program.run()
