"""Business rules as pure functions: no I/O, each citing the page sentence behind it."""
