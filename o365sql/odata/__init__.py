"""odata stage."""
