"""Stored procedures (installed as ``o365sql.procedures``): the OAuth ones and Graph actions."""
