"""One thin module per Cloud Function: parse, call a service, map errors."""
