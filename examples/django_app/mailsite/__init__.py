"""The o365sql Django example site: sign in with Microsoft, read mail, contacts and events with SQL."""
