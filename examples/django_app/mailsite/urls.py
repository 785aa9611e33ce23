"""URL routes of the example site."""

from __future__ import annotations

from django.urls import path

from mailsite import views

urlpatterns = [
    path("", views.index, name="index"),
    path("login", views.login, name="login"),
    path("callback", views.callback, name="callback"),
    path("logout", views.logout, name="logout"),
    path("inbox", views.inbox, name="inbox"),
    path("message", views.message, name="message"),
    path("contacts", views.contacts, name="contacts"),
    path("events", views.events, name="events"),
    path("reply", views.reply, name="reply"),
    path("accept", views.accept, name="accept"),
]
