"""Development and demo parts: the embedded broker (Tansu) and the traffic simulator. Not used by a worker."""
