"""The emulated Microsoft identity platform (Entra ID's v2.0 endpoints that msal talks to).

What is here: app registrations (``apps``), client authentication (``clientauth``), the token
endpoint's grants (``grants``) and what it remembers between requests (``grantstore``), the
browser side of sign-in and its pages (``signin``, ``pages``), device code and admin consent,
token signing and checking (``tokens``), scopes, AADSTS errors, the identity side's view of the
people who can sign in (``directory``), the routes (``routes``) and the shared state behind them
(``platform``), and a scripted person at a browser for tests and demos (``browser``).

May import: ``o365sql.emulator.errors``, ``o365sql.emulator.server`` (the HTTP vocabulary and TLS
material). Never the Graph routes, the OData engine or the tenant's stores: the two services meet
only in ``runtime`` and ``router``.
"""
