"""The operator console: server-rendered pages, their routes, language and charts."""
