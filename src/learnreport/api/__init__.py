"""The HTTP side of learnreport: one FastAPI application serving every reporting surface."""
