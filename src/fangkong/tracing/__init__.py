"""Cases and contact tracing (流调溯源): cases, investigations, contacts, transmission chains."""
