"""The API dialects: one module per published reporting API."""
