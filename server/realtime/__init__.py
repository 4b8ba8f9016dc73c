"""Real-time agent inbox: the /ws endpoint, the per-node hub, presence (PROTOCOL.md)."""
