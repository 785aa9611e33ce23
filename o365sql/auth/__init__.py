"""auth stage."""
