# Websocket routes of every app are collected here; none is served yet.
websocket_urlpatterns: list = []
