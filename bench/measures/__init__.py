"""One module per measurement, each taking a `Run` and handing back figures and checks."""
