"""The API's routers, one module per resource; each route parses, calls one service function
and formats (the CLI calls the same functions)."""
