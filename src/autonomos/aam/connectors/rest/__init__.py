"""HTTP connectors: the declarative ``rest`` connector, and Salesforce and HubSpot built on it."""

from autonomos.aam.connectors.rest.clock import Clock, SystemClock
from autonomos.aam.connectors.rest.connector import RestConnector
from autonomos.aam.connectors.rest.http import RestClient, RetryPolicy
from autonomos.aam.connectors.rest.ratelimit import TokenBucket

__all__ = ["Clock", "RestClient", "RestConnector", "RetryPolicy", "SystemClock", "TokenBucket"]
