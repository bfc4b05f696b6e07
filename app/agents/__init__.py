"""The agent protocol, the registry of agents and the PeerAgent router graph."""
