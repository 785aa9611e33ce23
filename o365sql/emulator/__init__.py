"""Offline emulator of Microsoft Graph v1.0 and the Microsoft identity platform."""
