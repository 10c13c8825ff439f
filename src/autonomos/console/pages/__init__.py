"""One router per page group; each route parses, calls the service layer and renders."""

from autonomos.console.pages import auth, connections, drift, lineage, mappings, quarantine, records, review

ROUTERS = [auth.router, connections.router, review.router, mappings.router, drift.router, records.router,
           lineage.router, quarantine.router]
