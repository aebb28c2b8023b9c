"""learnreport: a reporting server for learning platforms."""

__version__ = "0.1.0"
