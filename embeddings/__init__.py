"""Embeddings on the graph's nodes: encoders, the embedding job and the vector index."""
